"""Event log: buffer landing events, flush them as new landing files off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Self

import anyio.to_thread
import msgspec
from litestar import Litestar
from pydantic import Field, model_validator

from recsys_algo.config import EnvSettings
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.store.landing import write_landing_file
from recsys_algo.store.storage import Storage
from recsys_service.background import running
from recsys_service.exposure import Exposure, LandingEvent, day_of, epoch_ms, exposure_lines
from recsys_service.schemas import EventLogStatus

log = logging.getLogger(__name__)

FLUSH_INTERVAL_ENV = "RECSYS_EVENTS_FLUSH_INTERVAL"
FLUSH_EVENTS_ENV = "RECSYS_EVENTS_FLUSH_EVENTS"
BUFFER_MAX_ENV = "RECSYS_EVENTS_BUFFER_MAX"
MAX_PAST_DAYS_ENV = "RECSYS_EVENTS_MAX_PAST_DAYS"
MAX_FUTURE_MINUTES_ENV = "RECSYS_EVENTS_MAX_FUTURE_MINUTES"
EVENT_LOG_KEY = "event_log"
Clock = Callable[[], dt.datetime]
PartitionKey = tuple[str, str, dt.date]  # tenant, surface, day
_ENCODER = msgspec.json.Encoder()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class EventLogSettings:
    """When to flush (every flush_interval seconds or flush_events events), the buffer bound,
    and the window of event times POST /v1/events accepts around the service's clock."""

    flush_interval: float = 5.0
    flush_events: int = 10_000
    buffer_max: int = 200_000
    max_past_days: int = 30
    max_future_minutes: int = 60

    @classmethod
    def from_env(cls) -> EventLogSettings:
        """RECSYS_EVENTS_* from the process environment; ConfigError naming what is wrong."""
        env = EventLogEnv.load()
        return cls(
            float(env.flush_interval),
            env.flush_events,
            env.buffer_max,
            env.max_past_days,
            env.max_future_minutes,
        )


class EventLogEnv(EnvSettings):
    """RECSYS_EVENTS_*: whole seconds between flushes, the early-flush count, the buffer bound,
    and the accepted window of event times (whole days before now, whole minutes after)."""

    flush_interval: int = Field(default=5, ge=1, le=300, validation_alias=FLUSH_INTERVAL_ENV)
    flush_events: int = Field(default=10_000, ge=1, le=1_000_000, validation_alias=FLUSH_EVENTS_ENV)
    buffer_max: int = Field(default=200_000, ge=1, le=10_000_000, validation_alias=BUFFER_MAX_ENV)
    max_past_days: int = Field(default=30, ge=1, le=3650, validation_alias=MAX_PAST_DAYS_ENV)
    max_future_minutes: int = Field(
        default=60, ge=0, le=1440, validation_alias=MAX_FUTURE_MINUTES_ENV
    )

    @model_validator(mode="after")
    def _buffer_holds_a_flush(self) -> Self:
        if self.buffer_max < self.flush_events:
            raise ConfigError(
                f"{BUFFER_MAX_ENV}={self.buffer_max} is below {FLUSH_EVENTS_ENV}="
                f"{self.flush_events}: the buffer must hold at least one flush"
            )
        return self


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines cut from the buffer for one partition; its name is fixed, so a retry overwrites."""

    tenant: str
    surface: str
    day: dt.date
    name: str
    data: bytes
    events: int


class EventLog:
    """Bounded in-memory buffer of landing lines, written as new uniquely named files by flush().

    add() runs on the event loop and only appends under a short lock; flush() runs in a worker
    thread. A failed write keeps its chunk (same name, same bytes) for the next flush.
    """

    def __init__(
        self, storage: Storage, settings: EventLogSettings, clock: Clock = _utc_now
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.on_threshold: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer: dict[PartitionKey, list[bytes]] = {}
        self._buffered = 0  # lines in _buffer
        self._pending: list[Chunk] = []
        self._pending_events = 0
        self._dropped = 0
        self._full = False
        self._written = 0
        self._last_flush_at: dt.datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: dt.datetime | None = None

    @property
    def held(self) -> int:
        """Events accepted but not yet written (buffered plus failed chunks awaiting a retry)."""
        return self._buffered + self._pending_events

    def add(self, events: Sequence[LandingEvent]) -> bool:
        """Buffer all of the events, or none when that would pass the bound (returns False)."""
        groups: dict[PartitionKey, list[bytes]] = {}
        for event in events:
            key = (event.tenant, event.surface, day_of(event.ts))
            groups.setdefault(key, []).append(_ENCODER.encode(event))
        return self._add_lines(groups, len(events))

    def _add_lines(self, groups: dict[PartitionKey, list[bytes]], count: int) -> bool:
        with self._lock:
            if self.held + count > self.settings.buffer_max:
                self._full = True
                return False
            before = self._buffered
            for key, lines in groups.items():
                self._buffer.setdefault(key, []).extend(lines)
            self._buffered = after = before + count
            self._full = False
        if before < self.settings.flush_events <= after:
            self.on_threshold()
        return True

    def add_exposures(self, exposures: Sequence[Exposure]) -> None:
        """Buffer the exposures of responses; when full they are counted and logged, not kept."""
        ts_ms = epoch_ms(self.clock())
        day = day_of(ts_ms)
        groups: dict[PartitionKey, list[bytes]] = {}
        count = 0
        for exposure in exposures:
            if exposure.items:
                lines = exposure_lines(exposure, ts_ms)
                groups.setdefault((exposure.tenant, exposure.surface, day), []).extend(lines)
                count += len(lines)
        if not count:
            return
        was_full = self._full
        if self._add_lines(groups, count):
            return
        with self._lock:
            self._dropped += count
        if not was_full:  # one line per episode; /readyz counts every dropped event
            log.error(
                "event buffer full (%d held, limit %d): exposure events are dropped and "
                "counted in /readyz until a flush succeeds; is storage reachable?",
                self.held,
                self.settings.buffer_max,
            )

    def _cut(self) -> None:
        """Move the buffer into named chunks; the lock covers only the swap, not the joins."""
        with self._lock:
            buffer, self._buffer = self._buffer, {}
            self._pending_events += self._buffered  # still counted as held while joined
            self._buffered = 0
        stamp = self.clock().strftime("%Y%m%dT%H%M%S%fZ")
        chunks = [
            Chunk(tenant, surface, day, f"svc-{stamp}-{uuid.uuid4().hex}.jsonl", data, len(lines))
            for (tenant, surface, day), lines in sorted(buffer.items())
            # One copy of the bytes: the trailing newline joins in, not appended after.
            for data in [b"\n".join(itertools.chain(lines, (b"",)))]
        ]
        with self._lock:
            self._pending.extend(chunks)

    def flush(self) -> int:
        """Write every held event; returns how many were written. Never raises for storage."""
        with self._flush_lock:
            self._cut()
            written = 0
            for chunk in list(self._pending):
                try:
                    write_landing_file(
                        self.storage, chunk.tenant, chunk.surface, chunk.day, chunk.name, chunk.data
                    )
                except Exception as exc:
                    self._record_error(chunk, exc)
                    break  # storage is likely down: the rest waits for the next flush
                with self._lock:
                    self._pending.remove(chunk)
                    self._pending_events -= chunk.events
                written += chunk.events
            with self._lock:
                self._written += written
                if not self._pending:
                    self._last_error = None
                    self._last_flush_at = self.clock()
            return written

    def _record_error(self, chunk: Chunk, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        with self._lock:
            self._last_error = reason
            self._last_error_at = self.clock()
        log.warning(
            "event log flush failed for %s/%s %s (%d events held, kept for retry): %s",
            chunk.tenant,
            chunk.surface,
            chunk.day,
            self.held,
            reason,
        )

    def status(self) -> EventLogStatus:
        with self._lock:
            return EventLogStatus(
                held=self.held,
                buffer_max=self.settings.buffer_max,
                full=self._full,
                dropped=self._dropped,
                written=self._written,
                last_flush_at=_iso(self._last_flush_at),
                last_error=self._last_error,
                last_error_at=_iso(self._last_error_at),
            )


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def flush_forever(event_log: EventLog, wake: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), event_log.settings.flush_interval)
        wake.clear()
        await anyio.to_thread.run_sync(event_log.flush)


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
