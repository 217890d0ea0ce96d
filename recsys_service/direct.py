"""Direct routes: the handler hands Litestar an ASGI callable that reads the request itself.

Litestar builds kwargs through signature models for every handler parameter (~14 us for
`request` alone); /v1/recommend's body, principal dependency, JSON guard and Response took
~45 us of its ~115 us request path (in-process, model stubbed). A direct route's handler takes
no parameters and returns its ASGI callable, which Litestar awaits with the request's scope,
receive and send. Routing, 405 and OPTIONS, the exception handlers and the OpenAPI operation
stay Litestar's; what the parameters documented is declared with direct_docs() and added by
recsys_service.openapi_bodies.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypeVar, cast

import msgspec
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from litestar.types import Receive, Scope, Send

from recsys_service.auth import Principal
from recsys_service.dependencies import authenticate
from recsys_service.errors import BadRequest
from recsys_service.json_body import (
    EMPTY_BODY,
    JsonBody,
    media_type_of,
    read_body,
    require_json_media_type,
)

T = TypeVar("T")
DIRECT_ROUTE_KEY = "recsys_direct_route"  # in the handler's opt: its docs need the auth headers
_encode = msgspec.json.Encoder().encode


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def principal_and_body(
    scope: Scope, receive: Receive, body: JsonBody[T]
) -> tuple[Principal, T]:
    """What the `data` and `principal` parameters gave, checked in Litestar's order: media type
    (415), size (413), empty or malformed JSON (400), key and tenant (400/401/403), rate limit
    (429), then the fields of the body (400)."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value)  # the first value, as Litestar's Headers.get
    require_json_media_type(media_type_of(_text(headers.get(b"content-type"))))
    handler = cast("HTTPRouteHandler", scope["route_handler"])
    limit = handler.resolve_request_max_body_size()
    raw = await read_body(receive, _text(headers.get(b"content-length")), limit)
    if not raw:
        raise BadRequest(EMPTY_BODY)
    data = body.decode(raw)
    parsed = body.parse(raw) if data is None else None
    principal = authenticate(
        scope["app"].state,
        scope["state"],
        _text(headers.get(b"x-api-key")),
        _text(headers.get(b"x-tenant")),
    )
    return principal, body.convert(parsed) if data is None else data


async def send_json(send: Send, content: Any, headers: list[tuple[bytes, bytes]]) -> None:
    """A 200 with `content` as JSON, as Litestar's Response would send it."""
    encoded = _encode(content)
    start = [
        *headers,
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(encoded)),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": start})
    await send({"type": "http.response.body", "body": encoded, "more_body": False})


def direct_docs(
    body: type[Any], returns: type[Any], responses: dict[int, ResponseSpec]
) -> dict[str, Any]:
    """Route handler arguments documenting what a direct route's parameters would have.

    The body: Litestar documents a request body (and its component schemas) from a `data`
    parameter of any dependency in the handler's layers, and resolves only the dependencies a
    handler asks for, so this one costs nothing per request. The 200: a ResponseSpec, since
    the handler's return annotation is its ASGI callable. The auth headers: the opt key."""

    def documented_body(data: Any) -> None:  # never called
        raise NotImplementedError

    json_body: Any = JSONBody  # a generic alias: its parameter is only known here
    documented_body.__annotations__ = {"data": json_body[body], "return": None}
    success = ResponseSpec(returns, description=HTTPStatus.OK.description)
    return {
        "responses": {200: success, **responses},
        "opt": {DIRECT_ROUTE_KEY: True},
        "dependencies": {"documented_body": Provide(documented_body, sync_to_thread=False)},
    }
