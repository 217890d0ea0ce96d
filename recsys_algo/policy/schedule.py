"""The daily runs: which (scope, day) partitions a schedule tick asks for, and when a day's tick
has passed (after it, late landing files are the landing sensor's business)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PartitionRun:
    """One run of the daily job; run_key is stable, so a retried tick never launches twice."""

    scope: str
    day: dt.date
    trigger: str
    run_key: str


def daily_runs(registered: Iterable[str], tick: dt.datetime) -> list[PartitionRun]:
    """Yesterday (relative to the tick, in UTC) for every registered scope, in fair_order."""
    day = tick.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    return [
        PartitionRun(scope, day, "schedule", f"daily:{scope}:{day.isoformat()}")
        for scope in fair_order(registered)
    ]


def fair_order(scopes: Iterable[str]) -> list[str]:
    """Round robin over tenants: every tenant's first scope (by name), then every tenant's
    second...: runs start in this order, so a tenant with many surfaces never pushes another
    tenant's run to the back of the queue."""
    rank: dict[str, int] = {}
    keyed = []
    for scope in sorted(scopes):
        tenant = scope.split(".", 1)[0]
        rank[tenant] = rank.get(tenant, -1) + 1
        keyed.append((rank[tenant], scope))
    return [scope for _, scope in sorted(keyed)]


def schedule_tick_passed(day: dt.date, now: dt.datetime, hour: int) -> bool:
    """Past the day's schedule tick (the next day at hour UTC), which reads that day's files."""
    tick = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(hour), tzinfo=dt.UTC)
    return now >= tick


@dataclass(frozen=True)
class TuningRun:
    """One run of the tuning job; run_key names the ISO week, so a retried tick launches once."""

    scope: str
    run_key: str


def weekly_tuning_runs(registered: Iterable[str], tick: dt.datetime) -> list[TuningRun]:
    """One tuning run per registered scope for the tick's ISO week, sorted by scope."""
    year, week, _ = tick.astimezone(dt.UTC).isocalendar()
    return [TuningRun(scope, f"tune:{scope}:{year}-W{week:02d}") for scope in sorted(registered)]
