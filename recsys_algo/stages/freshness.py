"""The freshness step: read every scope's serving pointer and judge its age (policy.freshness)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from recsys_algo.contracts.errors import RecsysError
from recsys_algo.contracts.names import parse_scope_key, scope_key
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.policy.freshness import (
    FreshnessReport,
    ScopeFreshness,
    freshness_report,
    scope_freshness,
    unreadable_freshness,
)
from recsys_algo.store.pointer import list_published_scopes, read_current
from recsys_algo.store.storage import Storage


def _scope(
    storage: Storage, keys: SigningKeys, scope: str, now: dt.datetime, max_age: dt.timedelta
) -> ScopeFreshness:
    tenant, surface = parse_scope_key(scope)
    try:
        current = read_current(storage, keys, tenant, surface)
    except RecsysError as exc:
        return unreadable_freshness(scope, str(exc))
    return scope_freshness(scope, current.manifest if current else None, now, max_age)


def check_freshness(
    storage: Storage,
    keys: SigningKeys,
    registered: Iterable[str],
    now: dt.datetime,
    max_age: dt.timedelta,
) -> FreshnessReport:
    """Every registered or published scope, its verified pointer's age against max_age."""
    scopes = set(registered) | {scope_key(t, s) for t, s in list_published_scopes(storage)}
    results = [_scope(storage, keys, scope, now, max_age) for scope in sorted(scopes)]
    return freshness_report(results, max_age)
