"""The event log's background task: flush every interval or threshold, and at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from litestar import Litestar

from recsys_service.background import running
from recsys_service.event_log import EVENT_LOG_KEY, EventLog

log = logging.getLogger("recsys_service.event_log")


async def flush_forever(event_log: EventLog, wake: asyncio.Event) -> None:
    # Partitions whose writes fail wait out their backoff here (not at shutdown).
    flush = functools.partial(event_log.flush, due_only=True)
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), event_log.settings.flush_interval)
        wake.clear()
        await anyio.to_thread.run_sync(flush)


@contextlib.asynccontextmanager
async def event_log_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Flush every interval or threshold in a thread; on exit, flush what is left."""
    event_log: EventLog = app.state[EVENT_LOG_KEY]
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def wake_up() -> None:  # add() may run on the loop or in a worker thread
        loop.call_soon_threadsafe(wake.set)

    event_log.on_threshold = wake_up
    try:
        async with running(flush_forever(event_log, wake), "recsys-event-flush"):
            yield
    finally:
        event_log.on_threshold = lambda: None
        await anyio.to_thread.run_sync(event_log.flush)
        if event_log.held:
            log.error(
                "shutdown: %d events could not be written to the landing zone (%s)",
                event_log.held,
                event_log.status().last_error,
            )
