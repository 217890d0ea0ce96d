"""JSON request bodies for direct routes: media type, size limit and one typed decode.

Each check raises the error Litestar's `require_json` guard and `data` parameter gave.

Litestar decodes a body to builtins, then converts them into the Struct (msgspec.convert,
lenient). A typed, equally lenient Decoder does both at once; only a body it refuses takes
Litestar's two steps again, so the error (and its place in the order of checks) is the same.
"""

from __future__ import annotations

import math
import re
from typing import Any, Generic, TypeVar

import msgspec
from litestar.exceptions import ClientException, HTTPException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Receive

from recsys_service.errors import BadRequest, InvalidRequest

T = TypeVar("T")
EMPTY_BODY = "request body is empty: send a JSON object"
# Litestar's signature model finds the field path of a msgspec error with this pattern.
_PATH_RE = re.compile(r"`\$\.(.+)`$")


def require_json_media_type(media_type: str) -> None:
    """415 unless application/json or a +json type (media_type: lower case, no parameters)."""
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(status_code=415, detail="body must be application/json")


def media_type_of(content_type: str | None) -> str:
    """'Application/JSON; charset=utf-8' -> 'application/json' (Litestar's content_type[0])."""
    return (content_type or "").partition(";")[0].strip().lower()


async def read_body(receive: Receive, content_length: str | None, limit: int | None) -> bytes:
    """The whole body within `limit` bytes (413), as Litestar's Request.body() reads it."""
    most = limit or math.inf
    if content_length is not None:
        try:
            announced = int(content_length)
        except ValueError:
            raise ClientException(f"Invalid content-length: {content_length!r}") from None
        if announced > most:
            raise RequestEntityTooLarge
    chunks: list[bytes] = []
    total = 0
    while True:
        event = await receive()
        if event["type"] == "http.request":
            if chunk := event.get("body", b""):
                total += len(chunk)
                if total > most:
                    raise RequestEntityTooLarge
                chunks.append(chunk)
            if not event.get("more_body", False):
                break
        elif event["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def validation_message(exc: msgspec.ValidationError) -> str:
    """'Expected `int` <= 200 - at `$.k`' -> 'k: Expected `int` <= 200', as Litestar words it
    (its key 'data' for the whole body is 'body' here)."""
    text = str(exc)
    match = _PATH_RE.search(text)
    key = f"data.{match.group(1)}".replace("data.", "") if match else "body"
    return f"{key}: {text.split(' - ', maxsplit=1)[0]}"


class JsonBody(Generic[T]):
    """decode() for the happy path; a body it refuses goes through parse() then convert()."""

    def __init__(self, type_: type[T]) -> None:
        self.type = type_
        self._decoder = msgspec.json.Decoder(type_, strict=False)

    def decode(self, raw: bytes) -> T | None:
        try:
            return self._decoder.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return None

    @staticmethod
    def parse(raw: bytes) -> Any:
        """Builtins, as Litestar's request.json(): malformed JSON is a 400 bad_request (deep
        nesting raises RecursionError, invalid UTF-8 UnicodeDecodeError: recsys_service.errors
        answers both with a 400)."""
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise BadRequest(str(exc)) from None

    def convert(self, parsed: Any) -> T:
        """The Struct, or a 400 invalid_request naming the field (Litestar's signature model)."""
        try:
            return msgspec.convert(parsed, self.type, strict=False, str_keys=True)
        except msgspec.ValidationError as exc:
            raise InvalidRequest(validation_message(exc)) from None
