"""Reading and writing one partition's data through the storage interface (no Dagster here)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import polars as pl
import pyarrow.parquet as pq

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import canonicalize, from_parquet_bytes, to_parquet_bytes
from recsys_algo.contracts.errors import DataSourceError, NotFoundError
from recsys_algo.contracts.events import parse_files
from recsys_algo.contracts.names import Partition
from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import Storage

STAGED_EVENTS = "raw_events.parquet"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class IngestReport:
    files: int
    lines: int
    rows: int
    blank_lines: int
    quarantined: int
    reasons: dict[str, int]
    input_fingerprint: str
    uri: str
    quarantine_uri: str | None


def ingest_partition(storage: Storage, p: Partition) -> IngestReport:
    """Parse every landing file of the partition; stage good rows, quarantine the rest."""
    files = read_landing_files(storage, p.tenant, p.surface, p.day)
    if not files:
        raise DataSourceError(
            f"raw_events for {p.label}: no landing files under "
            f"{storage.uri_for(layout.raw_prefix(p.tenant, p.surface, p.day))}/"
        )
    fingerprint = sha256(msgspec.json.encode([[name, sha256(content)] for name, content in files]))
    parsed = parse_files(files, p.tenant, p.surface, p.day)
    staged_key = layout.staging_key(p.tenant, p.surface, p.day, STAGED_EVENTS)
    storage.write_bytes(staged_key, to_parquet_bytes(parsed.frame()))
    quarantine_key = layout.quarantine_key(p.tenant, p.surface, p.day)
    if parsed.rejected:
        lines = b"".join(msgspec.json.encode(r) + b"\n" for r in parsed.rejected)
        storage.write_bytes(quarantine_key, lines)
    else:
        storage.delete(quarantine_key)  # a rerun over fixed files must not show stale rejects
    return IngestReport(
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


def read_canonical(storage: Storage, tenant: str, surface: str, day: dt.date) -> bytes | None:
    key = layout.canonical_key(tenant, surface, day)
    try:
        return storage.read_bytes(key)
    except NotFoundError:
        return None


def parquet_rows(data: bytes) -> int:
    return int(pq.read_metadata(io.BytesIO(data)).num_rows)


def staged_rows(storage: Storage, p: Partition) -> int | None:
    key = layout.staging_key(p.tenant, p.surface, p.day, STAGED_EVENTS)
    try:
        return parquet_rows(storage.read_bytes(key))
    except NotFoundError:
        return None


@dataclass
class EventWindow:
    start: dt.date
    end: dt.date
    frame: pl.DataFrame
    inputs: dict[str, str] = field(default_factory=dict)  # day -> canonical sha256

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def read_window(
    storage: Storage, p: Partition, window_days: int, columns: Sequence[str] | None = None
) -> EventWindow:
    """Canonical events of the trailing window ending at p.day; days never built are skipped.

    columns: keep only these (a 28-day window is tens of millions of rows: memory matters).
    """
    start = p.day - dt.timedelta(days=window_days - 1)
    frames, inputs = [], {}
    for offset in range(window_days):
        day = start + dt.timedelta(days=offset)
        data = read_canonical(storage, p.tenant, p.surface, day)
        if data is not None:
            day_frame = from_parquet_bytes(data)
            frames.append(day_frame if columns is None else day_frame.select(columns))
            inputs[day.isoformat()] = sha256(data)
    if p.day.isoformat() not in inputs:
        raise DataSourceError(f"{p.label}: canonical_events for the partition day is missing")
    return EventWindow(start, p.day, pl.concat(frames, how="vertical"), inputs)


class StagedMeta(msgspec.Struct, frozen=True, kw_only=True):
    """What publish needs to know about a staged artifact besides its bytes."""

    kind: str
    rows: int
    schema_version: int
    window_start: str
    window_end: str
    window_days: int
    inputs: dict[str, str]
    parameters: dict[str, Any]
    metrics: dict[str, float]


def stage_artifact(storage: Storage, p: Partition, blob: ArtifactBlob, meta: StagedMeta) -> str:
    key = layout.staging_key(p.tenant, p.surface, p.day, f"{blob.kind}.arrow")
    storage.write_bytes(key, blob.data)
    storage.write_bytes(
        layout.staging_key(p.tenant, p.surface, p.day, f"{blob.kind}.json"),
        msgspec.json.encode(meta, order="sorted"),
    )
    return storage.uri_for(key)


def load_staged(storage: Storage, p: Partition, kind: str) -> tuple[ArtifactBlob, StagedMeta]:
    try:
        meta = msgspec.json.decode(
            storage.read_bytes(layout.staging_key(p.tenant, p.surface, p.day, f"{kind}.json")),
            type=StagedMeta,
        )
        data = storage.read_bytes(layout.staging_key(p.tenant, p.surface, p.day, f"{kind}.arrow"))
    except NotFoundError:
        raise DataSourceError(f"manifest for {p.label}: {kind} has not been materialized") from None
    return ArtifactBlob(kind, data, meta.rows, meta.schema_version), meta


class EvaluationReport(msgspec.Struct, frozen=True, kw_only=True):
    """Staged by the evaluation asset, read by publish: offline metrics of this partition."""

    metrics: dict[str, float]
    parameters: dict[str, Any]


EVALUATION_FILE = "evaluation.json"


def stage_evaluation(storage: Storage, p: Partition, report: EvaluationReport) -> str:
    key = layout.staging_key(p.tenant, p.surface, p.day, EVALUATION_FILE)
    storage.write_bytes(key, msgspec.json.encode(report, order="sorted"))
    return storage.uri_for(key)


def load_evaluation(storage: Storage, p: Partition) -> EvaluationReport:
    key = layout.staging_key(p.tenant, p.surface, p.day, EVALUATION_FILE)
    try:
        return msgspec.json.decode(storage.read_bytes(key), type=EvaluationReport)
    except NotFoundError:
        raise DataSourceError(
            f"manifest for {p.label}: evaluation has not been materialized"
        ) from None
