"""A scope's health for on-call (`recsys status`): one level, the problems behind it, an exit code.

Levels, worst first: broken (the pointer does not verify: nothing trustworthy serves), failing
(the last run failed), stale (nothing serves, or what serves is older than the freshness
limit), held (a hold pins what serves), ok. The exit code is the worst level's, so a probe or
cron job can alert on it without parsing anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from recsys_algo.contracts.manifest import Manifest

OK, HELD, STALE, FAILING, BROKEN = "ok", "held", "stale", "failing", "broken"
# Worst last. Exit codes: 5 is the CLI's "artifact or signature" code; the others are status's.
LEVELS = (OK, HELD, STALE, FAILING, BROKEN)
EXIT_CODES = {OK: 0, HELD: 10, STALE: 11, FAILING: 12, BROKEN: 5}
FAILED_RUN_STATUSES = frozenset({"FAILURE", "CANCELED"})


@dataclass(frozen=True)
class ScopeHealth:
    level: str
    problems: tuple[str, ...]
    age_hours: float | None  # since the serving manifest was published
    data_age_hours: float | None  # since the end of the serving manifest's as_of day


def _created(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _hours(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def judge_scope(
    serving: Manifest | None,
    pointer_error: str | None,
    hold: str | None,
    last_run_status: str | None,
    last_run_message: str | None,
    now: dt.datetime,
    max_age: dt.timedelta,
) -> ScopeHealth:
    """Every problem of one scope, and the worst level among them.

    hold is the hold's description when held; last_run_status a Dagster run status name.
    """
    found: list[tuple[str, str]] = []
    age = data_age = None
    if pointer_error is not None:
        found.append((BROKEN, f"the pointer does not verify: {pointer_error}"))
    if last_run_status in FAILED_RUN_STATUSES:
        found.append((FAILING, f"the last run ended {last_run_status}: {last_run_message or ''}"))
    if serving is None and pointer_error is None:
        found.append((STALE, "nothing serves: no manifest is published"))
    if serving is not None:
        published = now - _created(serving.created_at)
        day_end = dt.datetime.combine(
            dt.date.fromisoformat(serving.as_of) + dt.timedelta(days=1), dt.time(), dt.UTC
        )
        age, data_age = _hours(published), _hours(now - day_end)
        if published > max_age:
            found.append(
                (STALE, f"serving was published {age} h ago, over the {_hours(max_age):g} h limit")
            )
    if hold is not None:
        found.append((HELD, hold))
    level = max((lvl for lvl, _ in found), key=LEVELS.index, default=OK)
    return ScopeHealth(level, tuple(text.rstrip(": ") for _, text in found), age, data_age)


def exit_code(levels: Iterable[str]) -> int:
    """The worst level's exit code (0 when every scope is ok or there are none)."""
    return EXIT_CODES[max(levels, key=LEVELS.index, default=OK)]
