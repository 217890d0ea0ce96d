"""POST /v1/recommend and /v1/recommend/batch: top-k items for surfaces of the caller's tenant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.types import ASGIApp, Receive, Scope, Send

from recsys_algo.serving.recommender import BlendParams, Query, explained
from recsys_service.app_objects import event_log_of, serving_of
from recsys_service.auth import Principal
from recsys_service.controllers.common import (
    MODEL_VERSION_HEADER,
    explained_items_of,
    fused_items,
    loaded_scope,
    require_json,
    responses,
)
from recsys_service.direct import direct_docs, principal_and_body, send_json
from recsys_service.errors import ServiceError
from recsys_service.exposure import Exposure
from recsys_service.json_body import JsonBody, validation_message
from recsys_service.loaded_scope import LoadedScope
from recsys_service.request_id import request_id_for
from recsys_service.schemas import (
    BatchRequest,
    BatchResponse,
    BatchResult,
    ElementError,
    RecommendRequest,
    RecommendResponse,
)
from recsys_service.serving_state import ScopeEntry


def blend_for(loaded: LoadedScope, data: RecommendRequest) -> BlendParams:
    """The manifest's blend, with the request's weight overrides (bounds checked on decode)."""
    if data.blend_weights is None:
        return loaded.blend
    return replace(loaded.blend, weights={**loaded.blend.weights, **data.blend_weights.given()})


def answer(loaded: LoadedScope, data: RecommendRequest, request_id: str) -> RecommendResponse:
    """One request against one loaded version: items, scores and version all come from it."""
    exclude = set(data.exclude_items)
    if data.exclude_seen and data.session_items:
        exclude.update(data.session_items)
    query = Query(
        k=data.k,
        user_id=data.user_id,
        session_items=tuple(data.session_items or ()),
        exclude=frozenset(exclude),
    )
    params = blend_for(loaded, data)
    # Same as ScopeModel.recommend (candidates, then the blend); explain adds the terms.
    model = loaded.model
    fused = model.answer(query, params, explain=data.explain)
    if not data.explain:
        return RecommendResponse(
            items=fused_items(model, fused),
            manifest_version=loaded.manifest.manifest_version,
            request_id=request_id,
        )
    return RecommendResponse(
        items=explained_items_of(explained(model.vocab.ids, fused)),
        manifest_version=loaded.manifest.manifest_version,
        request_id=request_id,
        blend_weights=dict(sorted(params.weights.items())),
        missing_kinds=loaded.missing_kinds,
    )


def answer_element(
    entries: Mapping[tuple[str, str], ScopeEntry],
    tenant: str,
    raw: dict[str, Any],
    rid: str,
) -> tuple[BatchResult, Exposure | None]:
    """One batch element, resolved on its own: its failure is its slot's status, not the batch's.
    An answered element also gives the exposure to log (from the request as it was decoded)."""
    try:
        data = msgspec.convert(raw, RecommendRequest, strict=False)
    except msgspec.ValidationError as exc:
        error = ElementError(code="invalid_request", message=validation_message(exc))
        return BatchResult(status=400, error=error), None
    try:
        loaded = loaded_scope(entries, tenant, data.surface)
    except ServiceError as exc:
        error = ElementError(code=exc.code, message=exc.message)
        return BatchResult(status=exc.status_code, error=error), None
    body = answer(loaded, data, rid)
    return BatchResult(status=200, body=body), exposure_of(tenant, data, body)


def exposure_of(tenant: str, data: RecommendRequest, body: RecommendResponse) -> Exposure:
    return Exposure(
        tenant=tenant,
        surface=data.surface,
        request_id=body.request_id,
        manifest_version=body.manifest_version,
        items=body.items,
        user_id=data.user_id,
        session_id=data.session_id,
    )


def answer_batch(
    entries: Mapping[tuple[str, str], ScopeEntry], tenant: str, batch: BatchRequest, rid: str
) -> tuple[BatchResponse, list[Exposure]]:
    """Every element's answer, and the exposures of those answered (all CPU work, no I/O)."""
    answered = [answer_element(entries, tenant, raw, rid) for raw in batch.requests]
    exposures = [exposure for _, exposure in answered if exposure is not None]
    return BatchResponse(results=[result for result, _ in answered]), exposures


RECOMMEND_BODY = JsonBody(RecommendRequest)
_MODEL_VERSION = MODEL_VERSION_HEADER.lower().encode()


async def serve_recommend(scope: Scope, receive: Receive, send: Send) -> None:
    """POST /v1/recommend, read from and answered to ASGI directly."""
    principal, data = await principal_and_body(scope, receive, RECOMMEND_BODY)
    state = scope["app"].state
    # One grab of the scope's object: the whole answer comes from a single version.
    loaded = loaded_scope(serving_of(state).entries, principal.tenant, data.surface)
    body = answer(loaded, data, request_id_for(scope))
    event_log_of(state).add_exposures([exposure_of(principal.tenant, data, body)])
    await send_json(send, body, [(_MODEL_VERSION, body.manifest_version.encode("latin-1"))])


def batch_model_version(results: list[BatchResult]) -> str | None:
    """The versions that answered, distinct, in order of first use ('a, b' when they differ)."""
    versions = dict.fromkeys(r.body.manifest_version for r in results if r.body is not None)
    return ", ".join(versions) or None


class RecommendController(Controller):
    path = "/v1/recommend"
    tags = ["recommend"]

    @post(
        "/",
        status_code=200,
        summary="Top-k recommendations for a surface",
        **direct_docs(
            body=RecommendRequest,
            returns=RecommendResponse,
            responses=responses(400, 401, 403, 404, 413, 415, 429, 503),
        ),
    )
    async def recommend(self) -> ASGIApp:
        # The hot route: no parameters, so Litestar builds no kwargs (recsys_service.direct).
        return serve_recommend

    @post(
        "/batch",
        status_code=200,
        summary="Up to 256 recommendation requests, each answered or failed on its own",
        before_request=require_json,
        responses=responses(400, 401, 403, 413, 415, 429),
    )
    async def batch(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[BatchRequest],
        principal: NamedDependency[Principal],
    ) -> Response[BatchResponse]:
        # One snapshot for the whole batch: every element of a scope sees the same version.
        entries = serving_of(request.app.state).entries
        rid = request_id_for(request.scope)
        # Up to 256 answers: computed in a worker thread so the event loop keeps serving.
        body, exposures = await anyio.to_thread.run_sync(
            partial(answer_batch, entries, principal.tenant, data, rid)
        )
        event_log_of(request.app.state).add_exposures(exposures)
        version = batch_model_version(body.results)
        return Response(body, headers={MODEL_VERSION_HEADER: version} if version else None)
