"""The ingest steps: landing files -> staged typed rows (bad lines quarantined) -> canonical."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import (
    RowGroupWriter,
    canonicalize_parquet,
    to_parquet_bytes,
)
from recsys_algo.contracts.errors import DataSourceError, LinkRefused, NotFoundError
from recsys_algo.contracts.event_rules import long_line_record, too_long
from recsys_algo.contracts.events import STAGING_SCHEMA, LineParser
from recsys_algo.contracts.names import Partition
from recsys_algo.stages.memory import releases_freed_memory
from recsys_algo.stages.serving_note import serving_note
from recsys_algo.stages.staging import STAGED_EVENTS
from recsys_algo.stages.window import sha256
from recsys_algo.store.landing import REFUSED_LINK, landing_names, read_landing_blocks
from recsys_algo.store.landing_lines import LongLine
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class IngestReport:
    label: str
    files: int
    lines: int
    rows: int
    blank_lines: int
    quarantined: int
    reasons: dict[str, int]
    input_fingerprint: str
    uri: str
    quarantine_uri: str | None

    @property
    def warning(self) -> str | None:
        """The line operators see when lines were quarantined; None when none were."""
        if not self.quarantined:
            return None
        return (
            f"raw_events for {self.label}: quarantined {self.quarantined} of {self.lines} lines "
            f"({self.reasons}) -> {self.quarantine_uri}"
        )


@dataclass
class _DayOutput:
    """What ingest writes, gathered as the blocks come: staged rows (compressed row groups),
    quarantine records in the order of the files (by name, then line), the fingerprint."""

    staged: RowGroupWriter = field(default_factory=lambda: RowGroupWriter(STAGING_SCHEMA))
    quarantine: list[bytes] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    fingerprinted: list[list[Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def reject(self, records: list[dict[str, object]]) -> None:
        """One block's records (its parser's and its long lines'), by line."""
        records.sort(key=lambda r: cast(int, r["line"]))
        self.quarantine += [msgspec.json.encode(r) + b"\n" for r in records]
        self.reasons.update(str(r["reason"]) for r in records)

    def fingerprint(self) -> str:
        """What the input fingerprint covers: each file's bytes as read, its long lines'
        digests (their content is not in what was read) and the refused links' names."""
        refused = [[name, "symbolic_link"] for name in self.refused]
        return sha256(msgspec.json.encode(self.fingerprinted + refused))


def _long_line_records(name: str, long: list[LongLine]) -> list[dict[str, object]]:
    """Records for lines over MAX_LINE_BYTES (the parser saw a blank line in each's place):
    excerpt, length and digest."""
    return [
        {"file": name, "line": x.line, "reason": "line_too_long", "detail": too_long(x.size)}
        | long_line_record(x.excerpt, x.size, x.sha256)
        for x in long
    ]


def _ingest_file(
    storage: Storage, p: Partition, name: str, parser: LineParser, out: _DayOutput
) -> None:
    """One landing file, a block of whole lines at a time (a linked file: one record, by
    name only)."""
    digest, long_digests, line = hashlib.sha256(), [], 1
    try:
        for content, long in read_landing_blocks(storage, p.tenant, p.surface, p.day, name):
            digest.update(content)
            rows, lines = parser.rows(name, content, first_line=line)
            out.staged.append(rows)
            parser.result.lines += len(long)  # the parser counted each as blank
            parser.result.blank_lines -= len(long)
            out.reject(parser.result.rejected + _long_line_records(name, long))
            parser.result.rejected = []
            long_digests += [[x.line, x.sha256] for x in long]
            line += lines
    except LinkRefused:
        if line > 1:
            raise  # after a block was read: not a link the store refused to open
        out.refused.append(name)
        out.reject([{"file": name, "line": 0, "reason": "symbolic_link", "detail": REFUSED_LINK}])
        return
    out.fingerprinted.append([name, digest.hexdigest(), *long_digests])


def _no_landing_files(storage: Storage, p: Partition) -> str:
    where = storage.uri_for(layout.raw_prefix(p.tenant, p.surface, p.day))
    return f"raw_events for {p.label}: no landing files under {where}/"


def landing_missing(storage: Storage, p: Partition) -> str | None:
    """Why a day has nothing to build (no landing files, one listing) and what keeps serving,
    or None: a range skips such a day without starting a run, a Dagster run without failing."""
    if landing_names(storage, p.tenant, p.surface, p.day):
        return None
    return (
        f"{_no_landing_files(storage, p)}: nothing to build; "
        f"{serving_note(storage, p.tenant, p.surface)}"
    )


@releases_freed_memory
def ingest_partition(storage: Storage, p: Partition) -> IngestReport:
    """Parse every landing file of the partition; stage good rows, quarantine the rest.
    Files are read, parsed and staged a block of lines at a time: memory follows the block,
    not the file (the staged rows are held as compressed row groups, the rejected encoded)."""
    names = landing_names(storage, p.tenant, p.surface, p.day)
    if not names:
        raise DataSourceError(_no_landing_files(storage, p))
    parser, out = LineParser(p.tenant, p.surface, p.day), _DayOutput()
    for name in names:
        _ingest_file(storage, p, name, parser, out)
    staged_key = layout.staging_key(p.tenant, p.surface, p.day, STAGED_EVENTS)
    storage.write_bytes(staged_key, out.staged.close())
    quarantine_key = layout.quarantine_key(p.tenant, p.surface, p.day)
    quarantined = len(out.quarantine)
    if quarantined:
        storage.write_bytes(quarantine_key, b"".join(out.quarantine))
    else:
        storage.delete(quarantine_key)  # a rerun over fixed files must not show stale rejects
    lines = parser.result.lines
    return IngestReport(
        label=p.label,
        files=len(names) - len(out.refused),
        lines=lines,
        rows=lines - quarantined,
        blank_lines=parser.result.blank_lines,
        quarantined=quarantined,
        reasons=dict(sorted(out.reasons.items())),
        input_fingerprint=out.fingerprint(),
        uri=storage.uri_for(staged_key),
        quarantine_uri=storage.uri_for(quarantine_key) if quarantined else None,
    )


@dataclass(frozen=True)
class CanonicalReport:
    rows: int
    duplicates: int
    sha256: str
    bytes: int
    uri: str


@releases_freed_memory
def canonicalize_partition(storage: Storage, p: Partition) -> CanonicalReport:
    """Staged rows -> one day in UTC, deduplicated by event_id, stably sorted (byte-identical)."""
    staged_key = layout.staging_key(p.tenant, p.surface, p.day, STAGED_EVENTS)
    try:
        staged = storage.read_bytes(staged_key)
    except NotFoundError:
        raise DataSourceError(
            f"canonical_events for {p.label}: raw_events has not been materialized "
            f"({storage.uri_for(staged_key)} is missing)"
        ) from None
    frame, duplicates = canonicalize_parquet(staged)
    del staged  # the compressed staged file: not held while the canonical one is written
    data = to_parquet_bytes(frame)
    key = layout.canonical_key(p.tenant, p.surface, p.day)
    storage.write_bytes(key, data)
    return CanonicalReport(frame.height, duplicates, sha256(data), len(data), storage.uri_for(key))
