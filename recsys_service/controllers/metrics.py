"""GET /metrics: this process's Prometheus metrics (public, admin-key only, or not served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.openapi import ResponseSpec

from recsys_service.app_objects import SETTINGS_KEY
from recsys_service.auth import API_KEY_HEADER, find_key
from recsys_service.controllers.common import responses
from recsys_service.errors import Forbidden, Unauthorized
from recsys_service.metrics import METRICS_KEY, ServiceMetrics
from recsys_service.settings import MetricsAccess, Settings

# The classic text format every Prometheus reads; Litestar appends "; charset=utf-8".
TEXT_FORMAT = "text/plain; version=0.0.4"


def require_admin_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """RECSYS_METRICS=admin: only an admin key (tenant '*') may scrape."""
    settings: Settings = connection.app.state[SETTINGS_KEY]
    presented = connection.headers.get(API_KEY_HEADER)
    if not presented:
        raise Unauthorized(f"missing {API_KEY_HEADER} header")
    key = find_key(settings.api_keys, presented)
    if key is None:
        raise Unauthorized(f"unknown {API_KEY_HEADER}")
    if not key.is_admin:
        raise Forbidden(f"key {key.name!r} is not an admin key; /metrics needs one")


async def _metrics(state: State) -> Response[bytes]:
    metrics: ServiceMetrics = state[METRICS_KEY]
    return Response(metrics.exposition(), media_type=TEXT_FORMAT)


def metrics_route(access: MetricsAccess) -> list[HTTPRouteHandler]:
    """The /metrics handler for this access mode ('off': no route, so 404)."""
    if access == "off":
        return []
    admin = access == "admin"
    return [
        get(
            "/metrics",
            summary="Prometheus metrics of this worker process",
            tags=["health"],
            guards=[require_admin_key] if admin else [],
            responses={
                200: ResponseSpec(None, description="Prometheus text format 0.0.4"),
                **(responses(401, 403) if admin else {}),
            },
        )(_metrics)
    ]
