"""The ingest steps: landing files -> staged typed rows (bad lines quarantined) -> canonical."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import msgspec

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import canonicalize, from_parquet_bytes, to_parquet_bytes
from recsys_algo.contracts.errors import DataSourceError, NotFoundError
from recsys_algo.contracts.event_rules import long_line_record, too_long
from recsys_algo.contracts.events import ParseResult, parse_files
from recsys_algo.contracts.names import Partition
from recsys_algo.stages.serving_note import serving_note
from recsys_algo.stages.staging import STAGED_EVENTS
from recsys_algo.stages.window import sha256
from recsys_algo.store.landing import LandingDay, landing_names, read_landing_day
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


def _fingerprinted(landing: LandingDay) -> list[list[Any]]:
    """What the input fingerprint covers: each file's bytes as read, its long lines' digests
    (their content is not in what was read) and the refused links' names."""
    return [
        [name, sha256(content), *[[x.line, x.sha256] for x in landing.long_lines.get(name, [])]]
        for name, content in landing.files
    ] + [[name, "symbolic_link"] for name in landing.refused]


def _quarantine_unread(parsed: ParseResult, landing: LandingDay) -> None:
    """Records for what the parser never saw: lines over MAX_LINE_BYTES (the parser counted
    each as blank) as excerpt, length and digest, and linked files by name only."""
    for name, long in landing.long_lines.items():
        parsed.lines += len(long)
        parsed.blank_lines -= len(long)
        parsed.rejected += [
            {"file": name, "line": x.line, "reason": "line_too_long", "detail": too_long(x.size)}
            | long_line_record(x.excerpt, x.size, x.sha256)
            for x in long
        ]
    parsed.rejected += [
        {"file": name, "line": 0, "reason": "symbolic_link", "detail": why}
        for name, why in landing.refused.items()
    ]
    parsed.rejected.sort(key=lambda r: (str(r["file"]), cast(int, r["line"])))


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


def ingest_partition(storage: Storage, p: Partition) -> IngestReport:
    """Parse every landing file of the partition; stage good rows, quarantine the rest."""
    landing = read_landing_day(storage, p.tenant, p.surface, p.day)
    files = landing.files
    if not files and not landing.refused:
        raise DataSourceError(_no_landing_files(storage, p))
    fingerprint = sha256(msgspec.json.encode(_fingerprinted(landing)))
    parsed = parse_files(files, p.tenant, p.surface, p.day)
    _quarantine_unread(parsed, landing)
    staged_key = layout.staging_key(p.tenant, p.surface, p.day, STAGED_EVENTS)
    storage.write_bytes(staged_key, to_parquet_bytes(parsed.frame()))
    quarantine_key = layout.quarantine_key(p.tenant, p.surface, p.day)
    if parsed.rejected:
        lines = b"".join(msgspec.json.encode(r) + b"\n" for r in parsed.rejected)
        storage.write_bytes(quarantine_key, lines)
    else:
        storage.delete(quarantine_key)  # a rerun over fixed files must not show stale rejects
    return IngestReport(
        label=p.label,
        files=len(files),
        lines=parsed.lines,
        rows=parsed.lines - len(parsed.rejected),
        blank_lines=parsed.blank_lines,
        quarantined=len(parsed.rejected),
        reasons=parsed.reasons,
        input_fingerprint=fingerprint,
        uri=storage.uri_for(staged_key),
        quarantine_uri=storage.uri_for(quarantine_key) if parsed.rejected else None,
    )


@dataclass(frozen=True)
class CanonicalReport:
    rows: int
    duplicates: int
    sha256: str
    bytes: int
    uri: str


def canonicalize_partition(storage: Storage, p: Partition) -> CanonicalReport:
    """Staged rows -> one day in UTC, deduplicated by event_id, stably sorted (byte-identical)."""
    staged_key = layout.staging_key(p.tenant, p.surface, p.day, STAGED_EVENTS)
    try:
        staged = from_parquet_bytes(storage.read_bytes(staged_key))
    except NotFoundError:
        raise DataSourceError(
            f"canonical_events for {p.label}: raw_events has not been materialized "
            f"({storage.uri_for(staged_key)} is missing)"
        ) from None
    frame, duplicates = canonicalize(staged)
    data = to_parquet_bytes(frame)
    key = layout.canonical_key(p.tenant, p.surface, p.day)
    storage.write_bytes(key, data)
    return CanonicalReport(frame.height, duplicates, sha256(data), len(data), storage.uri_for(key))
