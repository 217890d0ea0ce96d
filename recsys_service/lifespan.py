"""Lifespans: the manifest poller and the timer that writes batched log lines.

The poller refreshes once before serving, then polls with jitter; the log timer writes batched
lines on a short timer; both are cancelled on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator

import anyio.to_thread
from litestar import Litestar

from recsys_service.app_objects import SETTINGS_KEY, serving_of
from recsys_service.background import running
from recsys_service.logs import flush_logs
from recsys_service.serving_state import ServingState
from recsys_service.settings import Settings

log = logging.getLogger(__name__)
JITTER = 0.1
# Access lines wait at most this long in memory (JsonLinesHandler batches them).
LOG_FLUSH_SECONDS = 0.25


def next_delay(interval: float) -> float:
    # Jitter spreads many replicas' polls; not security-relevant.
    return interval * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311


async def poll_forever(serving: ServingState, interval: float) -> None:
    while True:
        await asyncio.sleep(next_delay(interval))
        try:
            await anyio.to_thread.run_sync(serving.refresh)
        except Exception:  # refresh records per-scope errors; this guards the loop itself
            log.exception("refresh failed; retrying next interval")


async def reverify_forever(serving: ServingState, interval: float) -> None:
    """The full digest check of what is served (a warm host's blobs may change under it)."""
    while True:
        await asyncio.sleep(next_delay(interval))
        try:
            await anyio.to_thread.run_sync(serving.reverify)
        except Exception:  # a storage outage: the next check tries again
            log.exception("re-verifying served versions failed; retrying next interval")


@contextlib.asynccontextmanager
async def serving_lifespan(app: Litestar) -> AsyncIterator[None]:
    serving = serving_of(app.state)
    settings: Settings = app.state[SETTINGS_KEY]
    if settings.open_mode:  # at every start, so an operator never runs it unknowingly
        log.warning(
            "open mode: no API keys are configured (RECSYS_API_KEYS is unset), so anyone who "
            "reaches this process reads tenant 'demo' without a key; for local demos only"
        )
    try:
        await anyio.to_thread.run_sync(serving.refresh)
        async with contextlib.AsyncExitStack() as tasks:
            await tasks.enter_async_context(
                running(poll_forever(serving, settings.watch_interval), "recsys-poller")
            )
            if settings.reverify_interval > 0:
                work = reverify_forever(serving, settings.reverify_interval)
                await tasks.enter_async_context(running(work, "recsys-reverify"))
            yield
    finally:
        serving.loader.close()  # a spare loader child started ahead (process_loader)


async def flush_logs_forever(interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        flush_logs()


@contextlib.asynccontextmanager
async def log_flush_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Outermost lifespan: its exit runs last, after every request and the other lifespans."""
    try:
        async with running(flush_logs_forever(LOG_FLUSH_SECONDS), "recsys-log-flush"):
            yield
    finally:
        flush_logs()
