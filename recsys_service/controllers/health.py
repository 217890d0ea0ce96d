"""Liveness (/healthz) and readiness (/readyz: every known scope has a verified manifest).

/readyz tells anyone only whether the process is ready; its details (every tenant, surface and
version, and reasons naming storage paths and signing key ids) go to an admin key only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec

from recsys_service.app_objects import SETTINGS_KEY, event_log_of, serving_of
from recsys_service.auth import API_KEY_HEADER, find_key
from recsys_service.event_log import EventLog
from recsys_service.schemas import HealthResponse, ReadinessResponse, ScopeReadiness
from recsys_service.serving_state import ScopeEntry, ServingState
from recsys_service.settings import Settings
from recsys_service.times import age_seconds, iso


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def scope_readiness(entry: ScopeEntry, now: dt.datetime) -> ScopeReadiness:
    loaded = entry.loaded
    manifest = loaded.manifest if loaded else None
    return ScopeReadiness(
        tenant=entry.tenant,
        surface=entry.surface,
        manifest_version=manifest.manifest_version if manifest else None,
        as_of=manifest.as_of if manifest else None,
        age_seconds=age_seconds(manifest.created_at, now) if manifest else None,
        loaded_at=_iso(loaded.loaded_at) if loaded else None,
        last_error=entry.last_error,
        last_error_at=_iso(entry.last_error_at),
    )


def readiness(serving: ServingState, event_log: EventLog | None = None) -> ReadinessResponse:
    """Ready iff at least one scope is known and every known scope has a verified load."""
    entries = serving.entries
    now = serving.clock()
    scopes = [scope_readiness(entries[key], now) for key in sorted(entries)]
    ready = bool(entries) and all(e.loaded is not None for e in entries.values())
    return ReadinessResponse(
        ready=ready,
        scopes=scopes,
        discovery_error=serving.discovery_error,
        event_log=event_log.status() if event_log else None,
    )


def may_see_details(settings: Settings, presented: str | None) -> bool:
    """An admin key; in open mode (no keys, loopback only) every caller, as for everything."""
    if settings.open_mode:
        return True
    key = find_key(settings.api_keys, presented) if presented else None
    return key is not None and key.is_admin


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", summary="Liveness: the process answers")
    async def healthz(self) -> HealthResponse:
        return HealthResponse(status="ok")

    @get(
        "/readyz",
        summary="Readiness: every known scope serves a verified manifest",
        description="Without an admin key in X-API-Key the body is only `ready`; with one it "
        "also lists every scope, the discovery error and the event log.",
        responses={
            503: ResponseSpec(
                ReadinessResponse,
                description="Not ready: no scope known, or some scope has nothing verified loaded",
            )
        },
    )
    async def readyz(self, request: Request[Any, Any, Any]) -> Response[ReadinessResponse]:
        state = request.app.state
        body = readiness(serving_of(state), event_log_of(state))
        status_code = 200 if body.ready else 503
        if not may_see_details(state[SETTINGS_KEY], request.headers.get(API_KEY_HEADER)):
            return Response(ReadinessResponse(ready=body.ready), status_code=status_code)
        return Response(body, status_code=status_code)
