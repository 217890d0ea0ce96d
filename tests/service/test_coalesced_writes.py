"""Each response leaves the server in one socket write (recsys_service.coalesced_writes)."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from recsys_service.coalesced_writes import CoalescingTransport
from recsys_service.http_limits import LimitedHttpToolsProtocol


class RecordingTransport(asyncio.Transport):
    """The socket side of one connection, as a unit-test fake: what was written, and when."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def hello(scope: Any, receive: Any, send: Any) -> None:
    body = b'{"items":[]}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def exchange(requests: bytes) -> RecordingTransport:
    config = Config(app=hello, lifespan="off", access_log=False, log_config=None)
    config.load()
    loop = asyncio.get_running_loop()
    protocol = LimitedHttpToolsProtocol(config, ServerState(), {}, _loop=loop)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(requests)
    for _ in range(20):  # let the app's tasks and the hand-over run
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    return transport


GET = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"


def test_a_response_is_written_with_one_write_head_and_body_together() -> None:
    transport = asyncio.run(exchange(GET))
    (written,) = transport.writes
    head, body = written.split(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 12" in head
    assert body == b'{"items":[]}'


def test_pipelined_responses_keep_their_order() -> None:
    transport = asyncio.run(exchange(GET + GET))
    joined = b"".join(transport.writes)
    assert joined.count(b"HTTP/1.1 200 OK") == 2
    assert joined.endswith(b'{"items":[]}') and len(transport.writes) <= 2


def test_close_hands_over_what_is_held_first_and_abort_drops_it() -> None:
    async def run() -> tuple[RecordingTransport, RecordingTransport]:
        loop = asyncio.get_running_loop()
        closing, aborting = RecordingTransport(), RecordingTransport()
        aborting.abort = lambda: setattr(aborting, "closed", True)  # type: ignore[method-assign]
        for real in (closing, aborting):
            wrapped = CoalescingTransport(real, loop)
            wrapped.write(b"head ")
            wrapped.write(b"body")
            wrapped.close() if real is closing else wrapped.abort()
        await asyncio.sleep(0)
        return closing, aborting

    closing, aborting = asyncio.run(run())
    assert closing.writes == [b"head body"] and closing.closed
    assert aborting.writes == [] and aborting.closed
