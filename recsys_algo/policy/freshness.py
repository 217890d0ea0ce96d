"""Freshness: a scope's serving manifest against the allowed age, and the verdict over scopes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.names import parse_scope_key


@dataclass(frozen=True)
class ScopeFreshness:
    scope: str
    fresh: bool
    message: str
    age_hours: float | None = None


def _created(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _hours(age: dt.timedelta) -> float:
    return age.total_seconds() / 3600


def scope_freshness(
    scope: str, serving: Manifest | None, now: dt.datetime, max_age: dt.timedelta
) -> ScopeFreshness:
    """Age of the serving manifest (its created_at) against max_age; over it is stale."""
    tenant, surface = parse_scope_key(scope)
    if serving is None:
        # A scope registered moments ago has not had its first run: not stale, but shown.
        return ScopeFreshness(scope, True, f"{tenant}/{surface}: nothing published yet")
    age = now - _created(serving.created_at)
    hours = round(_hours(age), 1)
    text = (
        f"{tenant}/{surface}: serving {serving.manifest_version} (as_of {serving.as_of}) "
        f"published {hours} h ago"
    )
    if age > max_age:
        return ScopeFreshness(scope, False, f"{text}, over the {_hours(max_age):g} h limit", hours)
    return ScopeFreshness(scope, True, text, hours)


def unreadable_freshness(scope: str, problem: str) -> ScopeFreshness:
    """A pointer that does not decode or verify serves nothing anyone should trust: stale."""
    tenant, surface = parse_scope_key(scope)
    message = f"{tenant}/{surface}: serving manifest unreadable: {problem}"
    return ScopeFreshness(scope, False, message)


@dataclass(frozen=True)
class FreshnessReport:
    passed: bool
    description: str
    max_age_hours: float
    scopes: tuple[ScopeFreshness, ...]

    @property
    def stale(self) -> list[str]:
        return [r.scope for r in self.scopes if not r.fresh]


def freshness_report(results: Sequence[ScopeFreshness], max_age: dt.timedelta) -> FreshnessReport:
    """Passes when no scope is stale; the description names every stale scope."""
    stale = [r for r in results if not r.fresh]
    if stale:
        description = "stale: " + "; ".join(r.message for r in stale)
    elif results:
        description = f"all {len(results)} scopes within {_hours(max_age):g} h"
    else:
        description = "no tenant.surface registered or published yet"
    return FreshnessReport(not stale, description, _hours(max_age), tuple(results))
