"""Landing zone IO over the Storage interface: what sources write, what ingest reads.

No dataframe library here: the service writes exposure and event files through this module."""

from __future__ import annotations

import datetime as dt

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.layout import LANDING_SUFFIX, check_landing_name, raw_prefix
from recsys_algo.contracts.names import parse_day
from recsys_algo.store.storage import Storage


def write_landing_file(
    storage: Storage, tenant: str, surface: str, day: dt.date, name: str, data: bytes
) -> str:
    """Write (or atomically replace) one landing file; returns its storage key."""
    key = f"{raw_prefix(tenant, surface, day)}/{check_landing_name(name)}"
    storage.write_bytes(key, data)
    return key


def read_landing_files(
    storage: Storage, tenant: str, surface: str, day: dt.date
) -> list[tuple[str, bytes]]:
    """(name, bytes) of the day's *.jsonl files, sorted by name; other files are ignored."""
    prefix = f"{raw_prefix(tenant, surface, day)}/"
    names = sorted(
        key[len(prefix) :]
        for key in storage.list(prefix)
        if key.startswith(prefix) and "/" not in key[len(prefix) :] and key.endswith(LANDING_SUFFIX)
    )
    return [(name, storage.read_bytes(prefix + name)) for name in names]


def first_landing_day(storage: Storage, tenant: str, surface: str) -> dt.date | None:
    """The earliest day folder holding a landing file of the scope (None: nothing landed)."""
    prefix = raw_prefix(tenant, surface, dt.date.min).rsplit("/", 1)[0] + "/"
    days = set()
    for key in storage.list(prefix):
        folder = key[len(prefix) :].split("/", 1)[0]
        try:
            days.add(parse_day(folder))
        except ConfigError:
            continue  # not a day folder: the landing sensor reports those
    return min(days, default=None)
