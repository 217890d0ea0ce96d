"""Lifespan: refresh once before serving, then poll with jitter; cancel the poller on exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator

import anyio.to_thread
from litestar import Litestar

from recsys_service.app_state import SETTINGS_KEY, serving_of
from recsys_service.settings import Settings
from recsys_service.state import ServingState

log = logging.getLogger(__name__)
JITTER = 0.1


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


@contextlib.asynccontextmanager
async def serving_lifespan(app: Litestar) -> AsyncIterator[None]:
    serving = serving_of(app.state)
    settings: Settings = app.state[SETTINGS_KEY]
    await anyio.to_thread.run_sync(serving.refresh)
    task = asyncio.create_task(poll_forever(serving, settings.watch_interval), name="recsys-poller")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
