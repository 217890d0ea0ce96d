"""The outermost request wrapper: the request id (X-Request-ID on every response), one access
line and the request metrics.

Litestar runs app middleware only for routed requests; this wraps the app's whole ASGI handler
(as Litestar's own OpenTelemetry plugin does), so 404s for unknown paths and 405s count and carry
the id too. One wrapper, one closure per request: each layer of ASGI wrapping costs a few us.
"""

from __future__ import annotations

import time

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from recsys_service.access_log import log_access
from recsys_service.logs import request_id_var
from recsys_service.metrics import UNMATCHED_ROUTE, ServiceMetrics
from recsys_service.request_id import request_id_for

PRINCIPAL_STATE_KEY = "recsys_principal"  # set by the principal dependency, read for the log
_HEADER_NAME = b"x-request-id"


def observe(handler: ASGIApp, metrics: ServiceMetrics) -> ASGIApp:
    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await handler(scope, receive, send)
            return
        start = time.perf_counter()
        rid = request_id_for(scope)
        token = request_id_var.set(rid)
        status = 500  # if the app fails before starting a response, the server sends a 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Ids are ASCII: incoming ones are checked, generated ones are hex.
                message["headers"] = [*message.get("headers", ()), (_HEADER_NAME, rid.encode())]
            await send(message)

        try:
            await handler(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - start
            # Routing has filled path_template by now (the template, never the raw path).
            route = scope.get("path_template") or UNMATCHED_ROUTE
            method = str(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            who = scope.get("state", {}).get(PRINCIPAL_STATE_KEY)
            if who is None:
                log_access(method, route, status, seconds, rid)
            else:
                log_access(method, route, status, seconds, rid, who.tenant, who.key_name)
            request_id_var.reset(token)

    return observed


def install(app: Litestar, metrics: ServiceMetrics) -> Litestar:
    app.asgi_handler = observe(app.asgi_handler, metrics)
    return app
