"""The service's Litestar app: every HTTP request gets a request id, an access line, metrics.

Litestar runs app middleware only for routed requests, so 404s for unknown paths and 405s would
go unobserved. This class wraps Litestar's own ASGI entry point (`Litestar.__call__`, the public
ASGI interface) from outside: everything Litestar does for a request, routing and its exception
handlers included, runs inside the observation. It stays a Litestar, so Litestar's test clients,
uvicorn and `app.state` see the app they always did. One wrapper, one closure per request: each
layer of ASGI wrapping costs a few us (bench/service.py measures this path).
"""

from __future__ import annotations

import time
from functools import cached_property

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import (
    HTTPScope,
    LifeSpanReceive,
    LifeSpanScope,
    LifeSpanSend,
    Message,
    Receive,
    Scope,
    Send,
)

from recsys_service.access_log import log_access
from recsys_service.logs import request_id_var
from recsys_service.metrics import METRICS_KEY, UNMATCHED_ROUTE, ServiceMetrics
from recsys_service.request_id import request_id_for

PRINCIPAL_STATE_KEY = "recsys_principal"  # set by the principal dependency, read for the log
_HEADER_NAME = b"x-request-id"


class ObservedApp(Litestar):
    """A Litestar app whose HTTP requests, routed or not, are observed into `state[METRICS_KEY]`."""

    @cached_property
    def _metrics(self) -> ServiceMetrics:
        # Looked up once: State's __getitem__ on every request costs more than it needs to.
        metrics: ServiceMetrics = self.state[METRICS_KEY]
        return metrics

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        # Narrowed by the check above (mypy does not narrow a union of TypedDicts on an enum).
        http: HTTPScope = scope  # type: ignore[assignment]
        http_send: Send = send  # type: ignore[assignment]
        start = time.perf_counter()
        rid = request_id_for(http)
        token = request_id_var.set(rid)
        status = 500  # if the app fails before starting a response, the server sends a 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Ids are ASCII: incoming ones are checked, generated ones are hex.
                message["headers"] = [*message.get("headers", ()), (_HEADER_NAME, rid.encode())]
            await http_send(message)

        try:
            await super().__call__(http, receive, send_observed)
        finally:
            seconds = time.perf_counter() - start
            # Routing has filled path_template by now (the template, never the raw path).
            route = http.get("path_template") or UNMATCHED_ROUTE
            method = http["method"]
            self._metrics.observe_request(method, route, status, seconds)
            who = http["state"].get(PRINCIPAL_STATE_KEY)
            if who is None:
                log_access(method, route, status, seconds, rid)
            else:
                log_access(method, route, status, seconds, rid, who.tenant, who.key_name)
            request_id_var.reset(token)
