"""POST /v1/recommend: top-k items for one surface of the caller's tenant."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from recsys_algo.recommender import Query
from recsys_service.auth import Principal
from recsys_service.errors import BadRequest, NotReady, ScopeNotFound
from recsys_service.request_id import request_id_for
from recsys_service.schemas import (
    ErrorResponse,
    RecommendedItem,
    RecommendRequest,
    RecommendResponse,
)
from recsys_service.state import LoadedScope, ServingState

MODEL_VERSION_HEADER = "X-Model-Version"

_ERRORS = {
    400: "invalid_request (a field breaks its bounds or is unknown), bad_request",
    401: "unauthorized: missing or unknown X-API-Key",
    403: "forbidden: the key may not read the tenant named in X-Tenant",
    404: "scope_not_found: no manifest for this tenant and surface",
    413: "body_too_large: request body over the limit",
    415: "unsupported_media_type: body is not application/json",
    503: "not_ready: scope known but nothing verified is loaded",
}
RESPONSES = {
    status: ResponseSpec(ErrorResponse, description=text) for status, text in _ERRORS.items()
}


async def require_json(request: Request[Any, Any, Any]) -> None:
    media_type, _ = request.content_type
    if media_type != MediaType.JSON and not media_type.endswith("+json"):
        raise HTTPException(status_code=415, detail="body must be application/json")
    # Read here (cached for decoding; enforces the size limit) to name an empty body plainly.
    if not await request.body():
        raise BadRequest("request body is empty: send a JSON object with at least 'surface'")


def loaded_scope(serving: ServingState, tenant: str, surface: str) -> LoadedScope:
    entry = serving.get(tenant, surface)
    if entry is None:
        raise ScopeNotFound(f"no manifest is published for surface {surface!r}")
    if entry.loaded is None:
        raise NotReady(f"surface {surface!r} has no verified manifest loaded yet")
    return entry.loaded


class RecommendController(Controller):
    path = "/v1"
    tags = ["recommend"]

    @post(
        "/recommend",
        status_code=200,
        summary="Top-k recommendations for a surface",
        before_request=require_json,
        responses=RESPONSES,
    )
    async def recommend(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RecommendRequest],
        principal: NamedDependency[Principal],
        serving: NamedDependency[ServingState],
    ) -> Response[RecommendResponse]:
        # One grab of the scope's object: the whole answer comes from a single version.
        loaded = loaded_scope(serving, principal.tenant, data.surface)
        exclude = set(data.exclude_items)
        if data.exclude_seen and data.session_items:
            exclude.update(data.session_items)
        query = Query(
            k=data.k,
            user_id=data.user_id,
            session_items=tuple(data.session_items or ()),
            exclude=frozenset(exclude),
        )
        found = loaded.model.recommend(query, loaded.blend)
        version = loaded.manifest.manifest_version
        body = RecommendResponse(
            items=[
                RecommendedItem(item_id=r.item_id, score=r.score, source=r.source) for r in found
            ],
            manifest_version=version,
            request_id=request_id_for(request.scope),
        )
        return Response(body, headers={MODEL_VERSION_HEADER: version})
