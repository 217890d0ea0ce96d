"""Staging reads and writes between a partition's steps: staged rows, artifacts, evaluation."""

from __future__ import annotations

import msgspec

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import DataSourceError, NotFoundError
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.staging import EvaluationReport, StagedMeta
from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.stages.window import parquet_rows
from recsys_algo.store.storage import Storage

STAGED_EVENTS = "raw_events.parquet"
EVALUATION_FILE = "evaluation.json"


def staged_rows(storage: Storage, p: Partition) -> int | None:
    """Rows raw_events staged for the partition; None if it has not run."""
    key = layout.staging_key(p.tenant, p.surface, p.day, STAGED_EVENTS)
    try:
        return parquet_rows(storage.read_bytes(key))
    except NotFoundError:
        return None


def stage_artifact(storage: Storage, p: Partition, blob: ArtifactBlob, meta: StagedMeta) -> str:
    key = layout.staging_key(p.tenant, p.surface, p.day, f"{blob.kind}.arrow")
    storage.write_bytes(key, blob.data)
    storage.write_bytes(
        layout.staging_key(p.tenant, p.surface, p.day, f"{blob.kind}.json"),
        msgspec.json.encode(meta, order="sorted"),
    )
    return storage.uri_for(key)


def _not_materialized(p: Partition, kind: str) -> DataSourceError:
    return DataSourceError(f"manifest for {p.label}: {kind} has not been materialized")


def load_staged_meta(storage: Storage, p: Partition, kind: str) -> StagedMeta:
    key = layout.staging_key(p.tenant, p.surface, p.day, f"{kind}.json")
    try:
        return msgspec.json.decode(storage.read_bytes(key), type=StagedMeta)
    except NotFoundError:
        raise _not_materialized(p, kind) from None


def load_staged_blob(storage: Storage, p: Partition, kind: str, meta: StagedMeta) -> ArtifactBlob:
    key = layout.staging_key(p.tenant, p.surface, p.day, f"{kind}.arrow")
    try:
        data = storage.read_bytes(key)
    except NotFoundError:
        raise _not_materialized(p, kind) from None
    return ArtifactBlob(kind, data, meta.rows, meta.schema_version)


def load_staged(storage: Storage, p: Partition, kind: str) -> tuple[ArtifactBlob, StagedMeta]:
    meta = load_staged_meta(storage, p, kind)
    return load_staged_blob(storage, p, kind, meta), meta


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
