"""One socket write per response: a transport that joins the writes of one event-loop step.

uvicorn's httptools protocol writes a response's head and its body with a `transport.write`
each; asyncio's transport sends each at once, so every response cost two send() calls, two
passes through the TCP stack and two wake-ups of the client. Writes made in one step of the
event loop (the head and body of a response are: nothing awaits between them) are joined and
handed to the real transport at the end of that step, in order; `close()` hands over what is
held first, `abort()` drops it with the connection. Everything else is the real transport's.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """Wraps a connection's transport for its protocol; see the module docstring."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self._hand_over)
        self._held.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _hand_over(self) -> None:
        if self._held:
            data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._held)

    def close(self) -> None:
        self._hand_over()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # is_closing, get_extra_info, pause_reading, resume_reading, set_protocol, ...
        return getattr(self._transport, name)
