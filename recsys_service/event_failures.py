"""Failing landing partitions of the event log: each one's error and its retry backoff.

One partition (tenant, surface, day) whose writes fail (a file where its folder should be, a
permission or quota problem, a link refused) must never hold up another's: the event log tries
every partition's chunks on each flush, and a failing one is retried after a growing delay
instead of at every flush, so a store that refuses it is not hammered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PartitionKey = tuple[str, str, dt.date]  # tenant, surface, day
MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Failure:
    failures: int  # consecutive failed writes
    last_error: str
    last_error_at: dt.datetime
    retry_at: float  # monotonic seconds: the periodic flush waits until then


def reason_of(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip()[:300]}"


class PartitionFailures:
    """Not thread-safe on its own: the event log calls it under its lock."""

    def __init__(self, base_delay: float) -> None:
        self.base_delay = base_delay
        self._failing: dict[PartitionKey, Failure] = {}

    def failed(self, key: PartitionKey, exc: BaseException, at: dt.datetime, now: float) -> Failure:
        """Record a failed write; the delay doubles with each failure in a row, up to 5 min."""
        count = self._failing[key].failures + 1 if key in self._failing else 1
        delay = min(self.base_delay * 2 ** (count - 1), MAX_BACKOFF_SECONDS)
        failure = Failure(count, reason_of(exc), at, now + delay)
        self._failing[key] = failure
        return failure

    def written(self, key: PartitionKey) -> None:
        self._failing.pop(key, None)

    def due(self, key: PartitionKey, now: float) -> bool:
        failure = self._failing.get(key)
        return failure is None or failure.retry_at <= now

    def scope_failing(self, tenant: str, surface: str) -> bool:
        return any(k[:2] == (tenant, surface) for k in self._failing)

    def items(self) -> list[tuple[PartitionKey, Failure]]:
        return sorted(self._failing.items())
