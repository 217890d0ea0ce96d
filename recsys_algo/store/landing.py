"""Landing zone IO over the Storage interface: what sources write, what ingest reads.

No dataframe library here: the service writes exposure and event files through this module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from recsys_algo.contracts.errors import ConfigError, LinkRefused
from recsys_algo.contracts.layout import LANDING_SUFFIX, check_landing_name, raw_prefix
from recsys_algo.contracts.names import parse_day
from recsys_algo.store.landing_lines import LongLine, bounded_blocks, read_bounded
from recsys_algo.store.storage import Storage


def write_landing_file(
    storage: Storage, tenant: str, surface: str, day: dt.date, name: str, data: bytes
) -> str:
    """Write (or atomically replace) one landing file; returns its storage key."""
    key = f"{raw_prefix(tenant, surface, day)}/{check_landing_name(name)}"
    storage.write_bytes(key, data)
    return key


def landing_names(storage: Storage, tenant: str, surface: str, day: dt.date) -> list[str]:
    """Names of the day's *.jsonl files, sorted; other files and sub-folders are ignored."""
    prefix = f"{raw_prefix(tenant, surface, day)}/"
    return sorted(
        key[len(prefix) :]
        for key in storage.list(prefix)
        if key.startswith(prefix) and "/" not in key[len(prefix) :] and key.endswith(LANDING_SUFFIX)
    )


REFUSED_LINK = "a symbolic link: not followed, nothing of it was read"


@dataclass
class LandingDay:
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (name, bytes), by name
    refused: dict[str, str] = field(default_factory=dict)  # name -> why it was not read
    # name -> its lines over MAX_LINE_BYTES, each a blank line in files (landing_lines)
    long_lines: dict[str, list[LongLine]] = field(default_factory=dict)


def read_landing_blocks(
    storage: Storage, tenant: str, surface: str, day: dt.date, name: str
) -> Iterator[tuple[bytes, list[LongLine]]]:
    """One landing file as landing_names lists it, in blocks of whole lines
    (landing_lines.bounded_blocks: a reader holds a block, never the file, and lines over
    MAX_LINE_BYTES are emptied and reported). A symbolic link raises LinkRefused before any
    block."""
    return bounded_blocks(_chunks(storage, tenant, surface, day, name))


def _chunks(
    storage: Storage, tenant: str, surface: str, day: dt.date, name: str
) -> Iterable[bytes]:
    return storage.read_chunks(f"{raw_prefix(tenant, surface, day)}/{name}")


def read_landing_day(storage: Storage, tenant: str, surface: str, day: dt.date) -> LandingDay:
    """The day's *.jsonl files, sorted by name (other files are ignored), and the names of
    those the store refused to read (a symbolic link): never their content. Files are read a
    chunk at a time and lines over MAX_LINE_BYTES never held whole (landing_lines).

    A day folder that is itself a link raises LinkRefused (a DataSourceError)."""
    landing = LandingDay()
    for name in landing_names(storage, tenant, surface, day):
        try:
            content, long = read_bounded(_chunks(storage, tenant, surface, day, name))
        except LinkRefused:
            landing.refused[name] = REFUSED_LINK
            continue
        landing.files.append((name, content))
        if long:
            landing.long_lines[name] = long
    return landing


def read_landing_files(
    storage: Storage, tenant: str, surface: str, day: dt.date
) -> list[tuple[str, bytes]]:
    """(name, bytes) of the day's *.jsonl files, sorted by name; other files are ignored."""
    return read_landing_day(storage, tenant, surface, day).files


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
