"""Bounded request heads for uvicorn's httptools protocol: 431 and a closed connection.

uvicorn's httptools protocol (what `python -m recsys_service` runs) limits neither the size nor
the number of request headers: a 100 MB header was buffered whole (parser and scope) before the
app saw it, stalling the worker's event loop for seconds. This protocol counts each head's bytes
as they arrive, before the parser buffers them, and refuses a head over `max_bytes` (request
line, URL and headers) or with more than `max_count` headers. It also writes each response
with one send() (recsys_service.coalesced_writes).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from recsys_service.coalesced_writes import CoalescingTransport

log = logging.getLogger("uvicorn.error")
_END_OF_HEAD = b"\r\n\r\n"
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
DEFAULT_MAX_HEADERS = 100


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a refused request."""


@dataclass(frozen=True, slots=True)
class HeadLimits:
    max_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_count: int = DEFAULT_MAX_HEADERS


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with bounded request heads.

    Bytes are counted from the start of a head up to its blank line, found in the raw stream
    (with a carry of 3 bytes across reads), so a body or the next pipelined request never counts
    towards a head. A head that starts inside a read after the previous request ended is counted
    from the next read on: the overrun is at most one read of the transport.
    """

    # Set by the process before serving (recsys_service.__main__), from the settings.
    limits: ClassVar[HeadLimits] = HeadLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # reading a request head (until its blank line)
        self._head_bytes = 0
        self._tail = b""  # the last bytes of the head so far: a terminator may straddle reads
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # One write per response instead of head and body apart (coalesced_writes).
        joined = CoalescingTransport(cast("asyncio.Transport", transport), self.loop)
        super().connection_made(cast("asyncio.Transport", joined))

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            window = self._tail + data
            end = window.find(_END_OF_HEAD)
            if end < 0:
                self._head_bytes += len(data)
                self._tail = window[-(len(_END_OF_HEAD) - 1) :]
            else:
                self._head_bytes += end + len(_END_OF_HEAD) - len(self._tail)
            if self._head_bytes > self.limits.max_bytes:
                self._refuse(f"request head over {self.limits.max_bytes} bytes")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if len(self.headers) > self.limits.max_count:
            self._refuse(f"{len(self.headers)} request headers, over {self.limits.max_count}")
            # Stops the parser (feed_data raises a parser error, which uvicorn answers with
            # send_400_response, silenced below): nothing of this request reaches the app.
            raise _Refused
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next bytes start the next request's head.
        self._in_head, self._head_bytes, self._tail = True, 0, b""

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # refused heads were answered 431 already
            super().send_400_response(msg)

    def _refuse(self, why: str) -> None:
        """431 with a short body, then close: nothing more is read from this connection."""
        self._refused = True
        log.warning("refused a request from %s: %s", _peer(self.client), why)
        body = f"request header fields too large: {why}\n".encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "an unknown peer"
