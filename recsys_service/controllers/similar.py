"""POST /v1/similar (items like one item) and GET /v1/popular (the surface's popular items)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from recsys_algo.kinds.kind import POPULARITY
from recsys_algo.serving.recommender import Recommendation
from recsys_algo.serving.similar import similar_items
from recsys_service.app_objects import event_log_of, serving_of
from recsys_service.auth import Principal
from recsys_service.controllers.common import (
    MODEL_VERSION_HEADER,
    items_of,
    loaded_scope,
    require_json,
    responses,
)
from recsys_service.exposure import Exposure
from recsys_service.loaded_scope import LoadedScope
from recsys_service.request_id import request_id_for
from recsys_service.schemas import (
    DEFAULT_K,
    MAX_K,
    SURFACE_PATTERN,
    RecommendResponse,
    SimilarRequest,
)

SIMILAR_404 = (
    "scope_not_found: no manifest for this tenant and surface; item_not_found: the item has "
    "no neighbours of that kind; kind_not_available: the manifest lacks that kind's artifact"
)


def _response(
    request: Request[Any, Any, Any], loaded: LoadedScope, found: list[Recommendation]
) -> Response[RecommendResponse]:
    version = loaded.manifest.manifest_version
    body = RecommendResponse(
        items=items_of(found), manifest_version=version, request_id=request_id_for(request.scope)
    )
    return Response(body, headers={MODEL_VERSION_HEADER: version})


class SimilarController(Controller):
    path = "/v1"
    tags = ["similar"]

    @post(
        "/similar",
        status_code=200,
        summary="Items similar to one item, by one neighbour kind or their blend",
        before_request=require_json,
        responses=responses(400, 401, 403, 404, 413, 415, 429, 503, s404=SIMILAR_404),
    )
    async def similar(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SimilarRequest],
        principal: NamedDependency[Principal],
    ) -> Response[RecommendResponse]:
        loaded = loaded_scope(serving_of(request.app.state).entries, principal.tenant, data.surface)
        found = similar_items(
            loaded.model,
            data.item_id,
            data.kind,
            data.k,
            frozenset(data.exclude_items),
            loaded.blend,
            loaded.missing_kinds,
        )
        response = _response(request, loaded, found)
        body = response.content
        event_log_of(request.app.state).add_exposures(
            [
                Exposure(
                    tenant=principal.tenant,
                    surface=data.surface,
                    request_id=body.request_id,
                    manifest_version=body.manifest_version,
                    items=body.items,
                )
            ]
        )
        return response

    @get(
        "/popular",
        summary="The surface's most popular items",
        responses=responses(400, 401, 403, 404, 429, 503),
    )
    async def popular(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        surface: Annotated[str, Parameter(pattern=SURFACE_PATTERN, description="surface name")],
        k: Annotated[int, Parameter(ge=1, le=MAX_K)] = DEFAULT_K,
    ) -> Response[RecommendResponse]:
        loaded = loaded_scope(serving_of(request.app.state).entries, principal.tenant, surface)
        top = loaded.model.popular(k)
        return _response(request, loaded, [Recommendation(i, s, POPULARITY) for i, s in top])
