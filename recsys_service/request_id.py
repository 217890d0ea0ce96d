"""Request ids: honour a well-formed incoming X-Request-ID, else make one; echo it on responses."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_STATE_KEY = "request_id"
_VALID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_RE.fullmatch(text) else None
    return None


def request_id_for(scope: Scope | Any) -> str:
    """The request's id, fixed on first use (middleware or error handler, whichever is first)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if not isinstance(rid, str):
        rid = _incoming(scope) or uuid.uuid4().hex
        state[_STATE_KEY] = rid
    return rid


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware adding X-Request-ID to every response of the routes it wraps."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        rid = request_id_for(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if HEADER not in headers:
                    headers[HEADER] = rid
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware
