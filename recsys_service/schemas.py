"""Request and response bodies (msgspec Structs; bounds are Meta constraints, checked on decode)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.contracts.names import NAME_PATTERN
from recsys_algo.kinds.kind import POPULARITY, SOURCE_ORDER
from recsys_algo.serving.similar import SIMILAR_NAMES

MAX_K = 200
DEFAULT_K = 20
MAX_SESSION_ITEMS = 200
MAX_EXCLUDE_ITEMS = 1000
MAX_BATCH = 256


def whole_string(pattern: str) -> str:
    """The pattern matching whole strings only. msgspec (and Litestar's parameters) match with
    Python's `re.search`, where a final `$` also matches before a trailing newline, so
    `"home\\n"` passed `^...$`; `(?!\\n)` refuses it, and means the same in the ECMA regexes of
    the OpenAPI document (where `$` is already the very end)."""
    if not pattern.endswith("$") or pattern.endswith("\\$"):
        raise ValueError(f"pattern {pattern!r} does not end with an anchor")
    return pattern[:-1] + r"(?!\n)$"


SURFACE_PATTERN = whole_string(NAME_PATTERN)
Surface = Annotated[str, msgspec.Meta(pattern=SURFACE_PATTERN, description="surface name")]
ItemId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
# Ids that end up in logged events follow the raw event contract: no control characters.
LoggedId = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=256, pattern=whole_string(r"^[^\x00-\x1f\x7f]+$")),
]
UserId = LoggedId


MAX_BLEND_WEIGHT = 10.0
Weight = Annotated[
    float, msgspec.Meta(ge=0, le=MAX_BLEND_WEIGHT, description="0..10; 0 switches the kind off")
]


# Popularity is the cold-start fill that guarantees k items: it may change, never vanish.
FillWeight = Annotated[
    float, msgspec.Meta(gt=0, le=MAX_BLEND_WEIGHT, description="over 0, up to 10")
]


class _Weights(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-request blend weights; each replaces the manifest's weight for that kind."""

    def given(self) -> dict[str, float]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not None}


if TYPE_CHECKING:
    BlendWeights = _Weights
else:
    # One optional field per kind, named and ordered by the kind registry.
    BlendWeights = msgspec.defstruct(
        "BlendWeights",
        [
            (kind.value, (FillWeight if kind is POPULARITY else Weight) | None, None)
            for kind in SOURCE_ORDER
        ],
        bases=(_Weights,),
        module=__name__,
        namespace={"__doc__": _Weights.__doc__},
        frozen=True,
        kw_only=True,
        forbid_unknown_fields=True,
    )


class RecommendRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    surface: Surface
    user_id: UserId | None = None
    session_id: LoggedId | None = None  # only recorded on the exposure events
    session_items: Annotated[list[ItemId], msgspec.Meta(max_length=MAX_SESSION_ITEMS)] | None = None
    k: Annotated[int, msgspec.Meta(ge=1, le=MAX_K)] = DEFAULT_K
    exclude_items: Annotated[list[ItemId], msgspec.Meta(max_length=MAX_EXCLUDE_ITEMS)] = []
    exclude_seen: bool = False
    explain: bool = False
    # Kinds not named keep the manifest's weight (lineage parameters.blend).
    blend_weights: BlendWeights | None = None


class RecommendedItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    item_id: str
    score: float
    source: str
    # Only with "explain": each kind's reciprocal-rank term; they sum to score.
    contributions: dict[str, float] | None = None


class RecommendResponse(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    items: list[RecommendedItem]
    manifest_version: str
    request_id: str
    # Only with "explain": the blend weights the answer used (manifest's, then overrides).
    blend_weights: dict[str, float] | None = None


# The names come from the kind registry (recsys_algo.kinds.kind), so no kind is listed here.
SimilarKind = Literal[SIMILAR_NAMES]  # type: ignore[valid-type]


class SimilarRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    surface: Surface
    item_id: ItemId
    k: Annotated[int, msgspec.Meta(ge=1, le=MAX_K)] = DEFAULT_K
    kind: SimilarKind = "blend"
    exclude_items: Annotated[list[ItemId], msgspec.Meta(max_length=MAX_EXCLUDE_ITEMS)] = []


class BatchRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Objects, not RecommendRequest: each element is validated on its own, so one bad
    # element is a 400 in its slot rather than a failed batch.
    requests: Annotated[
        list[dict[str, Any]],
        msgspec.Meta(
            min_length=1,
            max_length=MAX_BATCH,
            description="RecommendRequest objects, validated one by one",
        ),
    ]


class ElementError(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class BatchResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: int
    body: RecommendResponse | None = None  # status 200
    error: ElementError | None = None  # any other status


class BatchResponse(msgspec.Struct, frozen=True, kw_only=True):
    results: list[BatchResult]


MAX_EVENTS = 1000


class EventsRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Objects, not a Struct: each event is checked by the raw event contract's own parser.
    events: Annotated[
        list[dict[str, Any]],
        msgspec.Meta(
            min_length=1,
            max_length=MAX_EVENTS,
            description="raw events (docs/contracts.md); event_type click|add_to_cart|purchase",
        ),
    ]
    surface: Surface | None = None  # for events that do not name their surface


class EventsAccepted(msgspec.Struct, frozen=True, kw_only=True):
    accepted: int
    event_ids: list[str]  # in request order; the client's own, or derived from the content
    request_id: str


class RejectedEvent(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    reason: str
    detail: str


class EventsRejected(msgspec.Struct, frozen=True, kw_only=True):
    error: ErrorDetail
    rejected: list[RejectedEvent]


class ArtifactSummary(msgspec.Struct, frozen=True, kw_only=True):
    sha256: str
    bytes: int
    rows: int
    schema_version: int


class HoldView(msgspec.Struct, frozen=True, kw_only=True):
    """The scope's hold: while it exists runs record history and this version keeps serving."""

    version: str | None = None  # held at (the version serving when it was set)
    reason: str | None = None
    by: str | None = None
    at: str | None = None
    origin: str | None = None
    error: str | None = None  # the record does not verify: held all the same


class ManifestResponse(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    surface: str
    manifest_version: str
    as_of: str
    created_at: str
    window: Window
    artifacts: dict[str, ArtifactSummary]
    metrics: dict[str, float]
    lineage: Lineage
    previous_version: str | None
    loaded_at: str
    request_id: str
    hold: HoldView | None = None  # null: not held


class HealthResponse(msgspec.Struct, frozen=True, kw_only=True):
    status: str


class ScopeReadiness(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    surface: str
    manifest_version: str | None
    as_of: str | None
    age_seconds: float | None  # now - manifest created_at
    loaded_at: str | None
    last_error: str | None
    last_error_at: str | None


class FailingPartition(msgspec.Struct, frozen=True, kw_only=True):
    """A landing partition whose last write failed; its events wait, others are written."""

    tenant: str
    surface: str
    day: str
    held: int  # its events awaiting the retry
    failures: int  # failed writes in a row
    last_error: str
    last_error_at: str
    next_retry_at: str  # the periodic flush retries it then (shutdown tries at once)


class EventLogStatus(msgspec.Struct, frozen=True, kw_only=True):
    held: int  # accepted, not yet written
    buffer_max: int
    full: bool  # the last add hit buffer_max
    dropped: int  # exposure events not logged because the buffer was full
    written: int
    last_flush_at: str | None  # last flush that left nothing behind
    last_error: str | None  # cleared by a flush that writes everything
    last_error_at: str | None
    failing: list[FailingPartition] = []


# Only `ready` for callers without an admin key (controllers/health.py): the rest is unset,
# so left out of the body, while null stays null in the details.
class ReadinessResponse(msgspec.Struct, frozen=True, kw_only=True):
    ready: bool
    scopes: list[ScopeReadiness] | msgspec.UnsetType = msgspec.UNSET
    discovery_error: str | msgspec.UnsetType | None = msgspec.UNSET
    event_log: EventLogStatus | msgspec.UnsetType | None = msgspec.UNSET


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str
    request_id: str


class ErrorResponse(msgspec.Struct, frozen=True, kw_only=True):
    error: ErrorDetail
