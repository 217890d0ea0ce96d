"""What every data route shares: JSON-body guard, scope lookup, documented errors, item bodies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Request
from litestar.openapi import ResponseSpec

from recsys_algo.kinds.kind import SOURCE_ORDER
from recsys_algo.serving.ranking import Fused
from recsys_algo.serving.recommender import Explained, Recommendation, ScopeModel
from recsys_service.errors import BadRequest, NotReady, ScopeNotFound
from recsys_service.json_body import EMPTY_BODY, require_json_media_type
from recsys_service.loaded_scope import LoadedScope
from recsys_service.schemas import ErrorResponse, RecommendedItem
from recsys_service.serving_state import ScopeEntry

MODEL_VERSION_HEADER = "X-Model-Version"

ERRORS = {
    400: "invalid_request (a field breaks its bounds or is unknown), bad_request",
    401: "unauthorized: missing or unknown X-API-Key",
    403: "forbidden: the key may not read the tenant named in X-Tenant",
    404: "scope_not_found: no manifest for this tenant and surface",
    413: "body_too_large: request body over the limit",
    415: "unsupported_media_type: body is not application/json",
    429: "too_many_requests: the tenant's rate limit is exhausted; retry after Retry-After seconds",
    503: "not_ready: scope known but nothing verified is loaded",
}


def responses(*statuses: int, **details: str) -> dict[int, ResponseSpec]:
    """OpenAPI error responses; details override a status's text, e.g. s404='...'."""
    return {
        status: ResponseSpec(ErrorResponse, description=details.get(f"s{status}", ERRORS[status]))
        for status in statuses
    }


async def require_json(request: Request[Any, Any, Any]) -> None:
    media_type, _ = request.content_type
    require_json_media_type(media_type)
    # Read here (cached for decoding; enforces the size limit) to name an empty body plainly.
    if not await request.body():
        raise BadRequest(EMPTY_BODY)


def loaded_scope(
    entries: Mapping[tuple[str, str], ScopeEntry], tenant: str, surface: str
) -> LoadedScope:
    """The scope's one loaded version from a snapshot (`serving.entries`, read once)."""
    entry = entries.get((tenant, surface))
    if entry is None:
        raise ScopeNotFound(f"no manifest is published for surface {surface!r}")
    if entry.loaded is None:
        raise NotReady(f"surface {surface!r} has no verified manifest loaded yet")
    return entry.loaded


def fused_items(model: ScopeModel, fused: Fused) -> list[RecommendedItem]:
    """The blend's answer as response items, straight from its arrays."""
    ids = model.vocab.ids
    return [
        RecommendedItem(item_id=ids[code], score=score, source=SOURCE_ORDER[source])
        for code, score, source in zip(
            fused.codes.tolist(), fused.scores.tolist(), fused.sources.tolist(), strict=True
        )
    ]


def items_of(found: Iterable[Recommendation]) -> list[RecommendedItem]:
    return [RecommendedItem(item_id=r.item_id, score=r.score, source=r.source) for r in found]


def explained_items_of(found: Iterable[Explained]) -> list[RecommendedItem]:
    return [
        RecommendedItem(
            item_id=e.recommendation.item_id,
            score=e.recommendation.score,
            source=e.recommendation.source,
            contributions=dict(e.contributions),
        )
        for e in found
    ]
