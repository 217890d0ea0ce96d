"""The outermost request wrapper: request id for logs, one access-log line and request metrics.

Litestar runs app middleware only for routed requests; this wraps the app's whole ASGI handler
(as Litestar's own OpenTelemetry plugin does), so 404s for unknown paths and 405s count too.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from recsys_service.logs import ACCESS_LOGGER, request_id_var
from recsys_service.metrics import UNMATCHED_ROUTE, ServiceMetrics
from recsys_service.request_id import request_id_for

PRINCIPAL_STATE_KEY = "recsys_principal"  # set by the principal dependency, read for the log
access_log = logging.getLogger(ACCESS_LOGGER)


def _principal_fields(scope: Scope) -> dict[str, Any]:
    principal = scope.get("state", {}).get(PRINCIPAL_STATE_KEY)
    if principal is None:
        return {}
    return {"tenant": principal.tenant, "key_name": principal.key_name}


def observe(handler: ASGIApp, metrics: ServiceMetrics) -> ASGIApp:
    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await handler(scope, receive, send)
            return
        start = time.perf_counter()
        token = request_id_var.set(request_id_for(scope))
        status = 500  # if the app fails before starting a response, the server sends a 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await handler(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - start
            # Routing has filled path_template by now (the template, never the raw path).
            route = scope.get("path_template") or UNMATCHED_ROUTE
            method = str(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %d",
                    method,
                    route,
                    status,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        **_principal_fields(scope),
                    },
                )
            request_id_var.reset(token)

    return observed


def install(app: Litestar, metrics: ServiceMetrics) -> Litestar:
    app.asgi_handler = observe(app.asgi_handler, metrics)
    return app
