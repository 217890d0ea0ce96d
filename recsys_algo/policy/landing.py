"""Landing change policy: which scopes to register, which (scope, day) partitions changed and
are due for a rerun, and what each sensor tick says and remembers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from recsys_algo.policy.landing_cursor import Fingerprints, LandingCursor, encode_cursor
from recsys_algo.policy.schedule import PartitionRun, schedule_tick_passed

# A new scope with a long history arrives as one burst; the rest follows on the next ticks.
MAX_RUNS_PER_TICK = 50
_SHOWN = 10


class FileState(Protocol):
    """What a storage stat tells about one landing file (store.storage.ObjectStat is one)."""

    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def token(self) -> str: ...


def _digest(items: list[list[object]]) -> str:
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()[:16]


def day_outside(day: dt.date, days: tuple[dt.date, dt.date]) -> str | None:
    """Why no partition can hold `day` (days: the first and last partition day), else None."""
    first, last = days
    if first <= day <= last:
        return None
    return (
        f"{day.isoformat()} is outside the partition range {first.isoformat()}.."
        f"{last.isoformat()} (RECSYS_FIRST_DAY .. today, UTC)"
    )


def content_counts(day: dt.date, today: dt.date, lookback_days: int) -> bool:
    """Within the lookback a rewritten file counts; older days are compared by names only, so a
    tick does not stat (on file:// even hash) the whole landing history."""
    return (today - day).days <= lookback_days


def fingerprint(keys: Sequence[str], states: Sequence[FileState] | None) -> str:
    """'<names>:<content>' digests; content (size + ETag/sha256 token) when states are given."""
    names = _digest([[k] for k in keys])
    if states is None:
        return f"{names}:"
    return f"{names}:{_digest([[s.key, s.size, s.token] for s in states])}"


def changed(before: str | None, now: str) -> bool:
    """Content digests are compared when both sides have one, else the names digests."""
    if before is None:
        return True
    old_names, _, old_content = before.partition(":")
    new_names, _, new_content = now.partition(":")
    if old_content and new_content:
        return old_content != new_content or old_names != new_names
    return old_names != new_names


def problems_digest(problems: Mapping[str, str]) -> str:
    return _digest([[k] for k in sorted(problems)]) if problems else ""


def listing(problems: Mapping[str, str]) -> str:
    """'where: why; …' for the first few, then how many more."""
    shown = [f"{where}: {why}" for where, why in sorted(problems.items())[:_SHOWN]]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class ScopeRegistration:
    new: list[str]  # scopes to add as dynamic partitions
    warnings: list[str]  # bad folders not warned about before
    cursor: str  # the bad folders, so each is warned about once
    message: str


def _reported_folders(cursor: str | None) -> set[str]:
    """Folders already warned about; an unreadable cursor only means warning once more."""
    try:
        folders = json.loads(cursor) if cursor else []
    except ValueError:
        return set()
    return {str(f) for f in folders} if isinstance(folders, list) else set()


def register_scopes(
    found: Iterable[str],
    bad_folders: Mapping[str, str],
    registered: Iterable[str],
    cursor: str | None,
    max_surfaces: int | None = None,
) -> ScopeRegistration:
    """Every valid scope folder not registered yet, up to max_surfaces per tenant (by name;
    None: no limit); invalid folders and those past the limit reported, never registered."""
    per_tenant = Counter(scope.split(".", 1)[0] for scope in registered)
    new, over = [], {}
    for scope in sorted(set(found) - set(registered)):
        tenant, surface = scope.split(".", 1)
        if max_surfaces is not None and per_tenant[tenant] >= max_surfaces:
            over[f"raw/{tenant}/{surface}/"] = (
                f"tenant {tenant} has {per_tenant[tenant]} surfaces registered and "
                f"RECSYS_MAX_SURFACES is {max_surfaces}"
            )
            continue
        per_tenant[tenant] += 1
        new.append(scope)
    skipped = {**bad_folders, **over}
    reported = _reported_folders(cursor)
    warnings = [
        f"landing folder {folder} skipped: {skipped[folder]}"
        for folder in sorted(set(skipped) - reported)
    ]
    parts = [f"registered {', '.join(new)}" if new else "no new tenant.surface folders"]
    if bad_folders:
        parts.append(f"skipped invalid folders: {listing(bad_folders)}")
    if over:
        parts.append(f"skipped folders past RECSYS_MAX_SURFACES: {listing(over)}")
    return ScopeRegistration(new, warnings, json.dumps(sorted(skipped)), ". ".join(parts))


@dataclass(frozen=True)
class Observed:
    """One landing partition of a registered scope as this tick saw it."""

    scope: str
    day: dt.date
    fingerprint: str


@dataclass(frozen=True)
class LandingPlan:
    runs: list[PartitionRun]
    cursor: LandingCursor
    message: str  # with runs: the log line; without: the tick's skip reason
    warning: str | None  # skipped bad files, when this set was not reported before

    @property
    def cursor_text(self) -> str:
        return encode_cursor(self.cursor)


def plan_landing_runs(
    previous: LandingCursor | None,
    observed: Sequence[Observed],
    waiting: Iterable[str],
    bad_files: Mapping[str, str],
    now: dt.datetime,
    schedule_hour: int,
) -> LandingPlan:
    """Rerun exactly the partitions whose files are new or changed since the cursor and whose
    day's schedule tick has passed (before it, the schedule's run reads them).

    The first tick (no cursor) only records. Past MAX_RUNS_PER_TICK a changed partition is not
    recorded, so the next tick asks again. Scopes in waiting (files, not registered) are not
    recorded either: once landing_scopes registers them, their files count as new.
    """
    seen: Fingerprints = previous.seen if previous else {}
    recorded: Fingerprints = {}
    runs: list[PartitionRun] = []
    deferred = 0
    for part in observed:
        day = part.day.isoformat()
        before = seen.get(part.scope, {}).get(day)
        due = schedule_tick_passed(part.day, now, schedule_hour)
        if previous is not None and changed(before, part.fingerprint) and due:
            if len(runs) >= MAX_RUNS_PER_TICK:
                deferred += 1
                continue
            run_key = f"landing:{part.scope}:{day}:{part.fingerprint}"
            runs.append(PartitionRun(part.scope, part.day, "landing", run_key))
        recorded.setdefault(part.scope, {})[day] = part.fingerprint
    reported = problems_digest(bad_files)
    warning = None
    if bad_files and reported != (previous.reported if previous else ""):
        warning = f"landing files skipped: {listing(bad_files)}"
    cursor = LandingCursor(recorded, reported)
    if runs:
        message = f"requested {len(runs)} partition runs" + (
            f"; {deferred} more on the next tick" if deferred else ""
        )
        return LandingPlan(runs, cursor, message, warning)
    if previous is None:
        message = (
            f"first tick: recorded {sum(map(len, recorded.values()))} landing partitions "
            "without running them (backfill history from the UI)"
        )
    else:
        message = "no new or changed landing files past their day's schedule tick"
    if waiting := sorted(set(waiting)):
        message += f"; waiting for landing_scopes to register {', '.join(waiting)}"
    return LandingPlan(runs, cursor, message, warning)
