"""Staging reads and writes between a partition's steps: staged rows, then the staged set of
one (inputs, parameters) digest: each kind's artifact and metadata, and the evaluation.

Runs of one partition over other inputs or parameters write other sets; publish reads the set
of what the window holds when it runs and refuses anything else (policy.publish)."""

from __future__ import annotations

import msgspec

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConcurrentPublishError, DataSourceError, NotFoundError
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


def _key(p: Partition, set_key: str, name: str) -> str:
    return layout.staged_set_key(p.tenant, p.surface, p.day, set_key, name)


def stage_artifact(
    storage: Storage, p: Partition, set_key: str, blob: ArtifactBlob | None, meta: StagedMeta
) -> str:
    """The artifact's bytes (unless the kind was left out), then its metadata (read first)."""
    if blob is not None:
        storage.write_bytes(_key(p, set_key, f"{blob.kind}.arrow"), blob.data)
    key = _key(p, set_key, f"{meta.kind}.json")
    storage.write_bytes(key, msgspec.json.encode(meta, order="sorted"))
    return storage.uri_for(_key(p, set_key, f"{meta.kind}.arrow") if blob else key)


def staged_sets(storage: Storage, p: Partition) -> set[str]:
    """The staged sets the partition holds (one per inputs and parameters computed from)."""
    prefix = layout.staging_key(p.tenant, p.surface, p.day, "")
    return {s for key in storage.list(prefix) if (s := layout.staged_set_of(key)) is not None}


def drop_other_sets(storage: Storage, p: Partition, keep: str) -> int:
    """Delete the partition's other staged sets (after a publish); returns how many."""
    prefix = layout.staging_key(p.tenant, p.surface, p.day, "")
    dropped = set()
    for key in storage.list(prefix):
        found = layout.staged_set_of(key)
        if found is not None and found != keep:
            storage.delete(key)
            dropped.add(found)
    return len(dropped)


def _not_staged(storage: Storage, p: Partition, set_key: str, what: str) -> Exception:
    others = staged_sets(storage, p) - {set_key}
    if others:
        return ConcurrentPublishError(
            f"manifest for {p.label}: {what} was not computed from the canonical events, "
            "catalog and parameters the window holds now: they changed while this run "
            "computed (another run of this partition?); nothing was published; rerun"
        )
    return DataSourceError(f"manifest for {p.label}: {what} has not been materialized")


def load_staged_meta(storage: Storage, p: Partition, set_key: str, kind: str) -> StagedMeta:
    try:
        data = storage.read_bytes(_key(p, set_key, f"{kind}.json"))
    except NotFoundError:
        raise _not_staged(storage, p, set_key, kind) from None
    return msgspec.json.decode(data, type=StagedMeta)


def load_staged_blob(
    storage: Storage, p: Partition, set_key: str, kind: str, meta: StagedMeta
) -> ArtifactBlob:
    try:
        data = storage.read_bytes(_key(p, set_key, f"{kind}.arrow"))
    except NotFoundError:
        raise _not_staged(storage, p, set_key, kind) from None
    return ArtifactBlob(kind, data, meta.rows, meta.schema_version)


def load_staged(
    storage: Storage, p: Partition, set_key: str, kind: str
) -> tuple[ArtifactBlob | None, StagedMeta]:
    """The kind's staged bytes (None when it was left out) and metadata."""
    meta = load_staged_meta(storage, p, set_key, kind)
    if meta.omitted is not None:
        return None, meta
    return load_staged_blob(storage, p, set_key, kind, meta), meta


def stage_evaluation(storage: Storage, p: Partition, set_key: str, report: EvaluationReport) -> str:
    key = _key(p, set_key, EVALUATION_FILE)
    storage.write_bytes(key, msgspec.json.encode(report, order="sorted"))
    return storage.uri_for(key)


def load_evaluation(storage: Storage, p: Partition, set_key: str) -> EvaluationReport:
    try:
        data = storage.read_bytes(_key(p, set_key, EVALUATION_FILE))
    except NotFoundError:
        raise _not_staged(storage, p, set_key, "evaluation") from None
    return msgspec.json.decode(data, type=EvaluationReport)
