"""Artifact files: Arrow IPC tagged with kind and schema version, and their blocking checks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.collab_artifact import check_implicit
from recsys_algo.content_sim import check_content_sim
from recsys_algo.cooc import check_cooc
from recsys_algo.errors import ArtifactError
from recsys_algo.layout import ARTIFACT_EXT  # noqa: F401 (re-exported)
from recsys_algo.session_seq import check_session_seq

_KIND_KEY = b"recsys.kind"
_VERSION_KEY = b"recsys.schema_version"


@dataclass(frozen=True)
class ArtifactBlob:
    """An artifact ready to publish: bytes plus what the manifest records of them."""

    kind: str
    data: bytes
    rows: int
    schema_version: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def encode_artifact(frame: pl.DataFrame, kind: str, schema_version: int) -> ArtifactBlob:
    return encode_table(frame.to_arrow(), kind, schema_version)


def encode_table(table: pa.Table, kind: str, schema_version: int) -> ArtifactBlob:
    """Byte-deterministic: the same schema, rows and record batches give the same bytes."""
    table = table.replace_schema_metadata(
        {_KIND_KEY: kind.encode(), _VERSION_KEY: str(schema_version).encode()}
    )
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return ArtifactBlob(kind, sink.getvalue().to_pybytes(), table.num_rows, schema_version)


def decode_artifact(data: bytes, kind: str, where: str) -> pa.Table:
    """Read an artifact, checking it is Arrow IPC of the expected kind (no unpickling, ever)."""
    try:
        table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ArtifactError(f"{where}: not a readable Arrow IPC file ({exc})") from None
    meta = table.schema.metadata or {}
    found = meta.get(_KIND_KEY, b"").decode()
    if found != kind:
        raise ArtifactError(f"{where}: artifact kind is {found!r}, expected {kind!r}")
    return table


def _check_popularity(table: pa.Table, where: str) -> None:
    expected = {"item_id": pa.string(), "score": pa.float64(), "events": pa.int64()}
    actual = {f.name: f.type for f in table.schema}
    # polars may emit large_string; both are Arrow strings.
    actual = {k: pa.string() if v == pa.large_string() else v for k, v in actual.items()}
    if actual != expected:
        raise ArtifactError(f"{where}: popularity schema is {actual}, expected {expected}")
    if table.num_rows == 0:
        raise ArtifactError(f"{where}: popularity has no rows")
    for name in ("item_id", "events"):
        if nulls := table[name].null_count:
            raise ArtifactError(
                f"{where}: popularity column {name} must not be null ({nulls} nulls)"
            )
    scores = table["score"].to_numpy()
    if not np.all(np.isfinite(scores)) or np.any(scores <= 0):
        raise ArtifactError(f"{where}: popularity scores must be finite and > 0")
    if np.any(np.diff(scores) > 0):
        raise ArtifactError(f"{where}: popularity rows are not sorted by score")
    if len(set(table["item_id"].to_pylist())) != table.num_rows:
        raise ArtifactError(f"{where}: popularity repeats an item_id")


CHECKS: dict[str, Callable[[pa.Table, str], None]] = {
    "popularity": _check_popularity,
    "cooc": check_cooc,
    "implicit": check_implicit,
    "content_sim": check_content_sim,
    "session_seq": check_session_seq,
}


def validate_artifact(kind: str, data: bytes, where: str) -> pa.Table:
    """Decode and run the kind's blocking checks; raise ArtifactError naming what is wrong."""
    check = CHECKS.get(kind)
    if check is None:
        raise ArtifactError(f"{where}: unknown artifact kind {kind!r}")
    table = decode_artifact(data, kind, where)
    check(table, where)
    return table
