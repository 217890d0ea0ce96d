"""Reading signals back from PostgreSQL: the current version of a scope from one snapshot,
its rows re-encoded to artifact bytes and checked against the signed manifest's digests."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.contracts.manifest import Manifest, decode_verified
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.kinds.artifacts import encode_table
from recsys_algo.kinds.kind import POPULARITY
from recsys_algo.store.pg import check_schema_version, connect, describe_dsn
from recsys_algo.store.signals import DB_KINDS

_WHERE = "WHERE tenant = %s AND surface = %s AND version = %s"
# Identifiers come from the constants above, values are always bound parameters.
_SELECT_POPULARITY = f"SELECT item_id, score, events FROM recsys_popularity {_WHERE}"  # noqa: S608
_SELECT_NEIGHBORS = (
    f"SELECT item_id, neighbor_id, score, support FROM recsys_neighbors {_WHERE} AND kind = %s"  # noqa: S608
)


@dataclass(frozen=True)
class Signals:
    """One scope's current version as stored: pointer token, signed manifest, artifact tables."""

    token: str
    manifest_raw: bytes
    tables: dict[str, pa.Table]


def _has_tables(cur: Any) -> bool:
    """False before the first write; raises if the tables are of another schema version."""
    cur.execute("SELECT to_regclass('recsys_signal_schema') IS NOT NULL")
    if not cur.fetchone()[0]:
        return False
    cur.execute("SELECT version FROM recsys_signal_schema")
    check_schema_version(cur.fetchone()[0])
    return True


def current_token(dsn: str, tenant: str, surface: str) -> str | None:
    """The scope's current version row as a change token; None if nothing is written."""
    with connect(dsn) as conn, conn, conn.cursor() as cur:
        if not _has_tables(cur):
            return None
        cur.execute(
            "SELECT version, swapped_at FROM recsys_signal_current "
            "WHERE tenant = %s AND surface = %s",
            (tenant, surface),
        )
        row = cur.fetchone()
    return None if row is None else f"{row[0]}@{row[1].isoformat()}"


def current_manifest(
    dsn: str, keys: SigningKeys, tenant: str, surface: str
) -> tuple[Manifest, str] | None:
    """The current version's manifest, signature and scope verified, and its token (the same
    as current_token's), without the rows; None if nothing is written."""
    with connect(dsn) as conn, conn, conn.cursor() as cur:
        row = _current_row(cur, tenant, surface)
    if row is None:
        return None
    version, swapped_at, raw, _ = row
    where = f"signals database {describe_dsn(dsn)} {tenant}/{surface}"
    manifest = decode_verified(bytes(raw), keys, where)
    if (manifest.tenant, manifest.surface) != (tenant, surface):
        raise ArtifactError(f"{where}: manifest belongs to {manifest.tenant}/{manifest.surface}")
    return manifest, f"{version}@{swapped_at.isoformat()}"


def _current_row(cur: Any, tenant: str, surface: str) -> tuple[Any, ...] | None:
    """(version, swapped_at, manifest bytes, layout) of the scope's current version."""
    if not _has_tables(cur):
        return None
    cur.execute(
        "SELECT c.version, c.swapped_at, v.manifest, v.layout FROM recsys_signal_current c "
        "JOIN recsys_signal_versions v USING (tenant, surface, version) "
        "WHERE c.tenant = %s AND c.surface = %s",
        (tenant, surface),
    )
    row: tuple[Any, ...] | None = cur.fetchone()
    return row


def list_scopes(dsn: str) -> list[tuple[str, str]]:
    """(tenant, surface) pairs with a current version."""
    with connect(dsn) as conn, conn, conn.cursor() as cur:
        if not _has_tables(cur):
            return []
        cur.execute("SELECT tenant, surface FROM recsys_signal_current ORDER BY 1, 2")
        return [(str(t), str(s)) for t, s in cur.fetchall()]


def _copy_out(cur: Any, sql: str, params: tuple[Any, ...], schema: pa.Schema) -> pa.Table:
    sink = io.BytesIO()
    cur.copy_expert(f"COPY ({cur.mogrify(sql, params).decode()}) TO STDOUT WITH (FORMAT csv)", sink)
    sink.seek(0)
    if not sink.getbuffer().nbytes:
        return schema.empty_table()
    return pacsv.read_csv(
        sink,
        read_options=pacsv.ReadOptions(column_names=schema.names),
        convert_options=pacsv.ConvertOptions(
            column_types=schema, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    ).cast(schema)


def _rebatched(table: pa.Table, lengths: list[int]) -> pa.Table:
    """The table cut into the artifact's record batches, so re-encoding gives its bytes."""
    columns = [
        pa.concat_arrays(col.chunks) if col.num_chunks else pa.array([], col.type)
        for col in table.columns
    ]
    whole = pa.RecordBatch.from_arrays(columns, schema=table.schema)
    if lengths == [whole.num_rows]:
        return pa.Table.from_batches([whole])
    # take, not slice: the IPC writer stores a sliced array's buffers differently.
    offsets = [sum(lengths[:i]) for i in range(len(lengths))]
    batches = [
        whole.take(pa.array(range(o, o + n), pa.int64()))
        for o, n in zip(offsets, lengths, strict=True)
    ]
    return pa.Table.from_batches(batches, schema=table.schema)


def read_signals(dsn: str, tenant: str, surface: str) -> Signals | None:
    """The scope's current version from one snapshot (REPEATABLE READ); None if unwritten."""
    with connect(dsn) as conn:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn, conn.cursor() as cur:
            row = _current_row(cur, tenant, surface)
            if row is None:
                return None
            version, swapped_at, raw, layout = row
            tables = {}
            for kind, shape in sorted(layout.items()):
                schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(shape["schema"])))
                if kind not in DB_KINDS:
                    raise ArtifactError(f"signals of {tenant}/{surface}: unknown kind {kind!r}")
                params: tuple[Any, ...] = (tenant, surface, version)
                sql = _SELECT_POPULARITY
                if kind != POPULARITY:
                    params, sql = (*params, kind), _SELECT_NEIGHBORS
                table = _copy_out(cur, f"{sql} ORDER BY ordinal", params, schema)
                tables[kind] = _rebatched(table, shape["batches"])
    return Signals(f"{version}@{swapped_at.isoformat()}", bytes(raw), tables)


def verify_signals(
    signals: Signals, keys: SigningKeys, tenant: str, surface: str, where: str
) -> Manifest:
    """Check the stored manifest's signature and scope, and every table against its digest."""
    manifest = decode_verified(signals.manifest_raw, keys, where)
    if (manifest.tenant, manifest.surface) != (tenant, surface):
        raise ArtifactError(f"{where}: manifest belongs to {manifest.tenant}/{manifest.surface}")
    for kind, table in sorted(signals.tables.items()):
        ref = manifest.artifacts.get(kind)
        if ref is None:
            raise ArtifactError(f"{where}: {kind} rows are not in the manifest")
        digest = encode_table(table, kind, ref.schema_version).sha256
        if digest != ref.sha256:
            raise ArtifactError(
                f"{where}: {kind} rows re-encode to {digest[:12]}…, the manifest says "
                f"{ref.sha256[:12]}…: the rows were changed outside a publish"
            )
    return manifest


def load_signals(
    dsn: str, keys: SigningKeys, tenant: str, surface: str
) -> tuple[str, Manifest, dict[str, pa.Table]] | None:
    """(token, verified manifest, verified tables) of the scope's current version, or None."""
    signals = read_signals(dsn, tenant, surface)
    if signals is None:
        return None
    where = f"signals database {describe_dsn(dsn)} {tenant}/{surface}"
    manifest = verify_signals(signals, keys, tenant, surface, where)
    return signals.token, manifest, signals.tables
