"""One listing of the landing zone: scope folders, and the file keys of each (scope, day)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from recsys_algo.contracts.errors import ConfigError, InvalidName
from recsys_algo.contracts.layout import check_landing_name
from recsys_algo.contracts.names import parse_day, scope_key
from recsys_algo.store.storage import Storage

RAW_ROOT = "raw"


@dataclass
class LandingScan:
    """raw/{tenant}/{surface}/{day}/{name}.jsonl keys grouped by partition, and what was skipped."""

    files: dict[tuple[str, dt.date], list[str]] = field(default_factory=dict)
    scopes: set[tuple[str, str]] = field(default_factory=set)
    bad_folders: dict[str, str] = field(default_factory=dict)  # raw/{t}/{s}/ -> why skipped
    bad_files: dict[str, str] = field(default_factory=dict)  # key -> why skipped


def scan_landing(storage: Storage) -> LandingScan:
    """One listing of raw/; names are validated, so nothing invalid reaches a partition key."""
    scan = LandingScan()
    grouped: dict[tuple[str, dt.date], list[str]] = defaultdict(list)
    for key in storage.list(RAW_ROOT):
        parts = key.split("/")
        if len(parts) < 4:
            continue  # a stray file above the scope folders is no landing data
        tenant, surface = parts[1], parts[2]
        try:
            scope = scope_key(tenant, surface)
        except InvalidName as exc:
            scan.bad_folders.setdefault(f"{RAW_ROOT}/{tenant}/{surface}/", str(exc))
            continue
        scan.scopes.add((tenant, surface))
        if len(parts) != 5:
            scan.bad_files[key] = "expected raw/{tenant}/{surface}/{YYYY-MM-DD}/{name}.jsonl"
            continue
        try:
            day = parse_day(parts[3])
            check_landing_name(parts[4])
        except ConfigError as exc:
            scan.bad_files[key] = str(exc)
            continue
        grouped[(scope, day)].append(key)
    scan.files = {k: sorted(v) for k, v in sorted(grouped.items())}
    return scan
