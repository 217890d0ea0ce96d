"""The landing sensors' steps: list the landing zone, stat what may have changed, and let
policy.landing decide which scopes to register and which partitions to rerun."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from recsys_algo.contracts.errors import LinkRefused, NotFoundError
from recsys_algo.contracts.names import scope_key
from recsys_algo.policy.landing import (
    LandingPlan,
    Observed,
    ScopeRegistration,
    content_counts,
    day_outside,
    fingerprint,
    plan_landing_runs,
    register_scopes,
)
from recsys_algo.policy.landing_cursor import decode_cursor
from recsys_algo.store.landing_scan import scan_landing
from recsys_algo.store.storage import Storage


def scope_registration(
    storage: Storage, registered: Iterable[str], cursor: str | None, max_surfaces: int
) -> ScopeRegistration:
    """The scope folders of the landing zone against the registered scopes (at most
    max_surfaces per tenant)."""
    scan = scan_landing(storage)
    found = [scope_key(tenant, surface) for tenant, surface in scan.scopes]
    return register_scopes(found, scan.bad_folders, registered, cursor, max_surfaces)


def landing_changes(
    storage: Storage,
    cursor: str | None,
    registered: Iterable[str],
    now: dt.datetime,
    schedule_hour: int,
    lookback_days: int,
    days: tuple[dt.date, dt.date],
) -> LandingPlan:
    """Fingerprint every landing partition of a registered scope; plan the reruns. Files of a
    day no partition holds (days: the first and last partition day) are skipped and reported
    with the bad files: one tenant's stray day must not stop the sensor for every scope."""
    previous = decode_cursor(cursor)
    scan = scan_landing(storage)
    known = set(registered)
    observed: list[Observed] = []
    waiting: set[str] = set()
    for (scope, day), keys in scan.files.items():
        if (why := day_outside(day, days)) is not None:
            scan.bad_files.update(dict.fromkeys(keys, why))
            continue
        if scope not in known:
            waiting.add(scope)  # not fingerprinted: its files are all new once it is registered
            continue
        try:
            states = (
                [storage.stat(key) for key in keys]
                if content_counts(day, now.date(), lookback_days)
                else None
            )
        except (NotFoundError, LinkRefused):
            continue  # deleted or replaced by a link folder between list and stat: next tick
        observed.append(Observed(scope, day, fingerprint(keys, states)))
    return plan_landing_runs(previous, observed, waiting, scan.bad_files, now, schedule_hour)
