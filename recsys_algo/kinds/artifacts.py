"""Artifact files: Arrow IPC tagged with kind and schema version, byte-deterministic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ArtifactError

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
