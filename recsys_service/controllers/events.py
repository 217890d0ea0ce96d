"""POST /v1/events: outcome events in the raw event contract, checked by its own parser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from recsys_algo.contracts.event_rules import (
    CANONICAL_COLUMNS,
    DECODER,
    Rejected,
    day_bounds_ms,
    parse_line,
    parse_ts,
)
from recsys_algo.contracts.names import is_valid_name
from recsys_service.app_objects import event_log_of
from recsys_service.auth import Principal
from recsys_service.controllers.common import require_json, responses
from recsys_service.errors import Forbidden, InvalidRequest, ServiceError, error_response
from recsys_service.event_log_settings import EventLogSettings
from recsys_service.exposure import LandingEvent, day_of, epoch_ms
from recsys_service.request_id import request_id_for
from recsys_service.schemas import (
    MAX_EVENTS,
    ErrorDetail,
    EventsAccepted,
    EventsRejected,
    EventsRequest,
    RejectedEvent,
)
from recsys_service.times import iso

# Exposures are written by the service itself (one per returned item); ratings are not an
# outcome of a recommendation. Clients send what happened after one.
OUTCOME_TYPES = ("click", "add_to_cart", "purchase")

ROW_FIELDS = CANONICAL_COLUMNS  # the order of parse_line's tuple


def other_tenant_indices(events: Sequence[Mapping[str, Any]], tenant: str) -> list[int]:
    return [
        i
        for i, event in enumerate(events)
        if isinstance(event.get("tenant"), str) and event["tenant"] != tenant
    ]


def check_event(event: Mapping[str, Any], tenant: str, default_surface: str | None) -> LandingEvent:
    """One event through the contract's parse_line, on the day its own ts falls in (UTC)."""
    # The body's surface, else the event's; parse_line rejects an event naming another one.
    surface = default_surface if default_surface is not None else event.get("surface")
    if surface is None:
        raise Rejected("schema", "surface is required: in the event or in the body")
    if not isinstance(surface, str) or not is_valid_name(surface):
        raise Rejected("invalid_surface", "surface must match ^[a-z0-9][a-z0-9_-]{0,62}$")
    if event.get("event_type") not in OUTCOME_TYPES:
        given = str(event.get("event_type", "<missing>"))[:32]
        raise Rejected(
            "event_type_not_accepted",
            f"event_type {given!r} is not accepted here: use one of {', '.join(OUTCOME_TYPES)}",
        )
    raw = msgspec.json.encode(event)
    try:
        ts = parse_ts(DECODER.decode(raw).ts)
    except (msgspec.ValidationError, msgspec.DecodeError):
        ts = 0  # parse_line names the schema error below
    try:
        day = day_of(ts)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is in year 10000 UTC
        raise Rejected("invalid_ts", "ts is outside the years 1..9999 in UTC") from None
    row = parse_line(raw, tenant, surface, day_bounds_ms(day))
    return msgspec.convert(dict(zip(ROW_FIELDS, row, strict=True)), LandingEvent)


def check_events(
    data: EventsRequest, tenant: str
) -> tuple[list[LandingEvent], list[RejectedEvent]]:
    accepted: list[LandingEvent] = []
    rejected: list[RejectedEvent] = []
    for index, event in enumerate(data.events):
        try:
            accepted.append(check_event(event, tenant, data.surface))
        except Rejected as rej:
            rejected.append(RejectedEvent(index=index, reason=rej.reason, detail=rej.detail))
    return accepted, rejected


def outside_window(
    accepted: Sequence[LandingEvent], now: dt.datetime, settings: EventLogSettings
) -> InvalidRequest | None:
    """A 400 naming the first event whose time is outside the accepted window around now.

    Checked before anything is buffered: a time far from now lands in a day folder no daily
    partition holds (year 9999, before the partitions' first day), which the landing sensor and
    the pipeline can only skip; one tenant's stray day must never reach the landing zone."""
    past = dt.timedelta(days=settings.max_past_days)
    future = dt.timedelta(minutes=settings.max_future_minutes)
    low, high = epoch_ms(now - past), epoch_ms(now + future)
    outside = [i for i, event in enumerate(accepted) if not low <= event.ts <= high]
    if not outside:
        return None
    first = accepted[outside[0]].ts
    more = f" ({len(outside)} events are outside)" if len(outside) > 1 else ""
    return InvalidRequest(
        f"events[{outside[0]}].ts: {_shown(first)} is outside the accepted window "
        f"{iso(now - past)}..{iso(now + future)} ({settings.max_past_days} days before to "
        f"{settings.max_future_minutes} minutes after the service's clock){more}; "
        "nothing was written"
    )


def _shown(ts_ms: int) -> str:
    try:
        return iso(dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC))
    except (OverflowError, ValueError, OSError):
        return f"epoch ms {ts_ms}"


class EventsInvalid(ServiceError):
    status_code, code = 422, "invalid_events"

    def __init__(self, message: str, rejected: list[RejectedEvent]) -> None:
        super().__init__(message)
        self.rejected = rejected


class EventBufferFull(ServiceError):
    status_code, code = 503, "event_buffer_full"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _invalid(request: Request[Any, Any, Any], exc: EventsInvalid) -> Response[EventsRejected]:
    detail = ErrorDetail(
        code=exc.code, message=exc.message, request_id=request_id_for(request.scope)
    )
    return Response(EventsRejected(error=detail, rejected=exc.rejected), status_code=422)


def _full(request: Request[Any, Any, Any], exc: EventBufferFull) -> Response[Any]:
    response = error_response(request, exc.status_code, exc.code, exc.message)
    response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return response


EVENT_RESPONSES: dict[int, ResponseSpec] = {
    **responses(
        400,
        401,
        403,
        413,
        415,
        429,
        503,
        s400="invalid_request: an event time outside the accepted window, or events for a new "
        "surface when the tenant has RECSYS_MAX_SURFACES already; nothing is written",
        s403="forbidden: an event names another tenant than the key's, or X-Tenant is not "
        "the key's; nothing is written",
        s503="event_buffer_full: the service cannot take events now (storage unreachable); "
        "nothing is written, retry after Retry-After seconds with the same events",
    ),
    422: ResponseSpec(
        EventsRejected,
        description="invalid_events: at least one event breaks the raw event contract; "
        "`rejected` lists each by index with its reason; nothing is written",
    ),
}


class EventsController(Controller):
    path = "/v1/events"
    tags = ["events"]
    exception_handlers = {EventsInvalid: _invalid, EventBufferFull: _full}

    @post(
        "/",
        status_code=202,
        summary=f"Record up to {MAX_EVENTS} outcome events (all or nothing)",
        before_request=require_json,
        responses=EVENT_RESPONSES,
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[EventsRequest],
        principal: NamedDependency[Principal],
    ) -> Response[EventsAccepted]:
        event_log = event_log_of(request.app.state)
        tenant = principal.tenant
        others = other_tenant_indices(data.events, tenant)
        if others:
            raise Forbidden(
                f"events at {others[:10]} name another tenant than {tenant!r}; nothing was written"
            )
        accepted, rejected = check_events(data, tenant)
        if rejected:
            raise EventsInvalid(
                f"{len(rejected)} of {len(data.events)} events are invalid; nothing was written",
                rejected,
            )
        if (refused := outside_window(accepted, event_log.clock(), event_log.settings)) is not None:
            raise refused
        surfaces = {e.surface for e in accepted}
        if not event_log.surfaces.all_known(tenant, surfaces):
            why = await anyio.to_thread.run_sync(event_log.surfaces.admit, tenant, surfaces)
            if why is not None:
                raise InvalidRequest(why)
        if (full := event_log.add(accepted)) is not None:
            raise EventBufferFull(
                f"{full}; nothing was written, retry later", event_log.settings.flush_interval
            )
        ids = [e.event_id for e in accepted]
        body = EventsAccepted(
            accepted=len(ids), event_ids=ids, request_id=request_id_for(request.scope)
        )
        return Response(body, status_code=202)
