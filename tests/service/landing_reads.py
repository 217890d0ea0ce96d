"""Read back what the service wrote to the landing zone, the way ingest reads it."""

from __future__ import annotations

import datetime as dt
import re

import msgspec
import polars as pl

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import canonicalize
from recsys_algo.contracts.events import parse_files
from recsys_algo.contracts.layout import LANDING_NAME_PATTERN
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import FileStorage


def landing_days(storage: FileStorage, tenant: str, surface: str) -> list[dt.date]:
    prefix = layout.raw_prefix(tenant, surface, dt.date(2000, 1, 1)).rsplit("/", 1)[0] + "/"
    days = {key[len(prefix) :].split("/", 1)[0] for key in storage.list(prefix)}
    return sorted(dt.date.fromisoformat(d) for d in days)


def landing_files(storage: FileStorage, tenant: str, surface: str) -> list[tuple[str, bytes]]:
    """Every landing file of the scope, all days; names are checked against the contract."""
    files = [
        f
        for day in landing_days(storage, tenant, surface)
        for f in read_landing_files(storage, tenant, surface, day)
    ]
    assert all(re.fullmatch(LANDING_NAME_PATTERN, name) for name, _ in files), files
    return files


def landing_events(storage: FileStorage, tenant: str, surface: str) -> list[dict[str, object]]:
    return [
        msgspec.json.decode(line)
        for _, data in landing_files(storage, tenant, surface)
        for line in data.splitlines()
    ]


def canonical_rows(storage: FileStorage, tenant: str, surface: str) -> pl.DataFrame:
    """Ingest every day of the scope with the pipeline's parser and canonicalizer."""
    frames = []
    for day in landing_days(storage, tenant, surface):
        parsed = parse_files(
            read_landing_files(storage, tenant, surface, day), tenant, surface, day
        )
        assert parsed.rejected == [], parsed.rejected
        frames.append(canonicalize(parsed.frame())[0])
    assert frames, f"nothing landed for {tenant}/{surface}"
    return pl.concat(frames)
