"""Event log: buffer landing events, flush them as new landing files off the event loop.

Each landing partition (tenant, surface, day) is written on its own: one that fails waits for
its retry (event_failures) while every other is written, and a failing scope may hold only
part of the buffer (settings.failing_scope_max), so it never blocks another tenant.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

from recsys_algo.store.landing import write_landing_file
from recsys_algo.store.storage import Storage
from recsys_service.event_failures import PartitionFailures, PartitionKey
from recsys_service.event_log_settings import EventLogEnv, EventLogSettings
from recsys_service.exposure import Exposure, LandingEvent, day_of, epoch_ms, exposure_lines
from recsys_service.schemas import EventLogStatus, FailingPartition
from recsys_service.surfaces import SurfaceGate
from recsys_service.times import iso

__all__ = ["EVENT_LOG_KEY", "EventLog", "EventLogEnv", "EventLogSettings"]

log = logging.getLogger(__name__)

EVENT_LOG_KEY = "event_log"
Clock = Callable[[], dt.datetime]
Scope = tuple[str, str]  # tenant, surface
_ENCODER = msgspec.json.Encoder()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    thread. A failed write keeps its chunk (same name, same bytes) for a later flush.
    """

    def __init__(
        self,
        storage: Storage,
        settings: EventLogSettings,
        clock: Clock = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.monotonic = monotonic
        self.on_threshold: Callable[[], None] = lambda: None
        self.on_write_failed: Callable[[str, str], None] = lambda tenant, surface: None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buffer: dict[PartitionKey, list[bytes]] = {}
        self._buffered = 0  # lines in _buffer
        self._pending: list[Chunk] = []
        self._pending_events = 0
        self._held_by_scope: Counter[Scope] = Counter()
        self._failures = PartitionFailures(settings.flush_interval)
        self.surfaces = SurfaceGate(storage, settings.max_surfaces, monotonic)
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

    def add(self, events: Sequence[LandingEvent]) -> str | None:
        """Buffer all of the events, or none when that would pass a bound: then why, else None."""
        groups: dict[PartitionKey, list[bytes]] = {}
        for event in events:
            key = (event.tenant, event.surface, day_of(event.ts))
            groups.setdefault(key, []).append(_ENCODER.encode(event))
        return self._add_lines(groups, len(events))

    def _refusal(self, per_scope: Counter[Scope], count: int) -> str | None:
        """Why these events cannot be held (called under the lock), else None."""
        if self.held + count > self.settings.buffer_max:
            return (
                f"the event buffer is full ({self.held} events held, limit "
                f"{self.settings.buffer_max}; storage unreachable?)"
            )
        cap = self.settings.failing_scope_max
        for (tenant, surface), n in sorted(per_scope.items()):
            held = self._held_by_scope[(tenant, surface)]
            if held + n > cap and self._failures.scope_failing(tenant, surface):
                return (
                    f"writes of {tenant}/{surface} to the landing zone are failing and it holds "
                    f"{held} events, its limit while they fail is {cap}"
                )
        return None

    def _add_lines(self, groups: dict[PartitionKey, list[bytes]], count: int) -> str | None:
        per_scope: Counter[Scope] = Counter()
        for (tenant, surface, _), lines in groups.items():
            per_scope[(tenant, surface)] += len(lines)
        with self._lock:
            refused = self._refusal(per_scope, count)
            if refused is not None:
                self._full = True
                return refused
            before = self._buffered
            for key, lines in groups.items():
                self._buffer.setdefault(key, []).extend(lines)
            self._held_by_scope.update(per_scope)
            self._buffered = after = before + count
            self._full = False
        if before < self.settings.flush_events <= after:
            self.on_threshold()
        return None

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
        refused = self._add_lines(groups, count)
        if refused is None:
            return
        with self._lock:
            self._dropped += count
        if not was_full:  # one line per episode; /readyz counts every dropped event
            log.error(
                "exposure events are dropped and counted in /readyz until a flush succeeds: %s",
                refused,
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

    def flush(self, *, due_only: bool = False) -> int:
        """Write every held event; returns how many were written. Never raises for storage.

        Each partition is written on its own: a failed write keeps its chunk for a retry and the
        next partitions are still written. due_only (the periodic flush): a partition whose last
        write failed waits out its backoff; otherwise (a direct call, shutdown) all are tried.
        """
        with self._flush_lock:
            self._cut()
            now = self.monotonic()
            written = 0
            failed: set[PartitionKey] = set()
            for chunk in list(self._pending):
                key = (chunk.tenant, chunk.surface, chunk.day)
                with self._lock:
                    waiting = due_only and not self._failures.due(key, now)
                if key in failed or waiting:
                    continue
                try:
                    write_landing_file(
                        self.storage, chunk.tenant, chunk.surface, chunk.day, chunk.name, chunk.data
                    )
                except Exception as exc:
                    failed.add(key)
                    self._record_error(chunk, exc, now)
                    continue
                self._written_chunk(chunk, key)
                written += chunk.events
            with self._lock:
                self._written += written
                if not self._pending:
                    self._last_error = None
                    self._last_flush_at = self.clock()
            return written

    def _written_chunk(self, chunk: Chunk, key: PartitionKey) -> None:
        with self._lock:
            self._pending.remove(chunk)
            self._pending_events -= chunk.events
            scope = (chunk.tenant, chunk.surface)
            self._held_by_scope[scope] -= chunk.events
            if self._held_by_scope[scope] <= 0:
                del self._held_by_scope[scope]
            self._failures.written(key)

    def _record_error(self, chunk: Chunk, exc: Exception, now: float) -> None:
        key = (chunk.tenant, chunk.surface, chunk.day)
        with self._lock:
            failure = self._failures.failed(key, exc, self.clock(), now)
            self._last_error, self._last_error_at = failure.last_error, failure.last_error_at
        self.on_write_failed(chunk.tenant, chunk.surface)
        log.warning(
            "event log write failed for %s/%s %s (%d events of the scope held, retried in %.0f s;"
            " other partitions are written): %s",
            chunk.tenant,
            chunk.surface,
            chunk.day,
            self._held_by_scope[(chunk.tenant, chunk.surface)],
            failure.retry_at - now,
            failure.last_error,
        )

    def _failing(self) -> list[FailingPartition]:
        """The partitions whose last write failed, with what each holds (under the lock)."""
        held: Counter[PartitionKey] = Counter()
        for chunk in self._pending:
            held[(chunk.tenant, chunk.surface, chunk.day)] += chunk.events
        for key, lines in self._buffer.items():
            held[key] += len(lines)
        wall, now = self.clock(), self.monotonic()
        return [
            FailingPartition(
                tenant=tenant,
                surface=surface,
                day=day.isoformat(),
                held=held[(tenant, surface, day)],
                failures=failure.failures,
                last_error=failure.last_error,
                last_error_at=iso(failure.last_error_at),
                next_retry_at=iso(wall + dt.timedelta(seconds=max(0.0, failure.retry_at - now))),
            )
            for (tenant, surface, day), failure in self._failures.items()
        ]

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
                failing=self._failing(),
            )


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else iso(moment)
