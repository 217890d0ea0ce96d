"""Signals in PostgreSQL (DB-only serving): versioned popularity and neighbour rows per scope.

One publish is one transaction: the version row, its rows and the current-version pointer
commit together, so a reader sees the old version or the new one, never a mix. The signed
manifest is stored with the rows and a reader re-encodes the rows into artifact bytes and checks
them against the manifest's digests (docs/signals-db.md, "Trust").
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv

from recsys_algo.artifacts import decode_artifact, encode_table
from recsys_algo.errors import ArtifactError, ConfigError
from recsys_algo.manifest import Manifest, decode_verified, encode
from recsys_algo.signals_pg import check_schema_version, connect, describe_dsn, ensure_schema
from recsys_algo.signing import SigningKeys

POPULARITY = "popularity"
NEIGHBOR_KINDS = ("cooc", "content_sim", "session_seq")  # all share the neighbour schema
DB_KINDS = (POPULARITY, *NEIGHBOR_KINDS)
RETAIN_VERSIONS = 3  # newest versions kept per scope (the current one always is)
_COLUMNS = {
    POPULARITY: ("item_id", "score", "events"),
    **dict.fromkeys(NEIGHBOR_KINDS, ("item_id", "neighbor_id", "score", "support")),
}
_WHERE = "WHERE tenant = %s AND surface = %s AND version = %s"
# Identifiers come from the constants above, values are always bound parameters.
_SELECT_POPULARITY = f"SELECT item_id, score, events FROM recsys_popularity {_WHERE}"  # noqa: S608
_SELECT_NEIGHBORS = (
    f"SELECT item_id, neighbor_id, score, support FROM recsys_neighbors {_WHERE} AND kind = %s"  # noqa: S608
)


@dataclass(frozen=True)
class WriteOutcome:
    version: str
    swapped: bool
    message: str


@dataclass(frozen=True)
class Signals:
    """One scope's current version as stored: pointer token, signed manifest, artifact tables."""

    token: str
    manifest_raw: bytes
    tables: dict[str, pa.Table]


def _csv(table: pa.Table) -> io.BytesIO:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    sink.seek(0)
    return sink


def _copy_in(cur: Any, manifest: Manifest, kind: str, table: pa.Table) -> None:
    n = table.num_rows
    prefix = {
        "tenant": pa.array([manifest.tenant] * n, pa.string()),
        "surface": pa.array([manifest.surface] * n, pa.string()),
        "version": pa.array([manifest.manifest_version] * n, pa.string()),
    }
    target = "recsys_popularity"
    if kind != POPULARITY:
        prefix["kind"] = pa.array([kind] * n, pa.string())
        target = "recsys_neighbors"
    prefix["ordinal"] = pa.array(range(n), pa.int32())
    rows = pa.table({**prefix, **{c: table[c] for c in _COLUMNS[kind]}})
    columns = ", ".join(rows.column_names)
    cur.copy_expert(f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv)", _csv(rows))


def _decoded(manifest: Manifest, blobs: Mapping[str, bytes]) -> dict[str, pa.Table]:
    """The DB kinds among blobs, each checked against the manifest's digest first."""
    tables = {}
    for kind in DB_KINDS:
        if kind not in blobs:
            continue
        where = f"{manifest.tenant}/{manifest.surface} {manifest.manifest_version} {kind}"
        ref = manifest.artifacts.get(kind)
        if ref is None or hashlib.sha256(blobs[kind]).hexdigest() != ref.sha256:
            raise ArtifactError(f"{where}: artifact bytes do not match the manifest")
        tables[kind] = decode_artifact(blobs[kind], kind, where)
    if POPULARITY not in tables:
        raise ArtifactError(f"{manifest.tenant}/{manifest.surface}: no popularity to write")
    return tables


def write_signals(
    dsn: str,
    manifest: Manifest,
    blobs: Mapping[str, bytes],
    *,
    retain: int = RETAIN_VERSIONS,
    rollback: bool = False,
) -> WriteOutcome:
    """Write a published manifest's DB kinds and make it current, in one transaction.

    Writers of one scope serialize on a transaction-scoped advisory lock. A replay of the
    current version changes nothing; a manifest created before the current one is not made
    current (a slower publisher must not move serving backwards) unless `rollback` says so:
    then a retained version is made current again without rewriting its rows. The current
    version is never pruned, whatever its age.
    """
    if retain < 1:
        raise ConfigError(f"signals retention must be >= 1 version, got {retain}")
    tables = _decoded(manifest, blobs)
    scope = (manifest.tenant, manifest.surface)
    version = manifest.manifest_version
    layout = {
        kind: {
            "batches": [batch.num_rows for batch in table.to_batches()],
            "schema": base64.b64encode(table.schema.serialize().to_pybytes()).decode(),
        }
        for kind, table in tables.items()
    }
    with connect(dsn) as conn:
        ensure_schema(conn)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("/".join(scope),))
            cur.execute(
                "SELECT c.version, v.created_at < %s::timestamptz FROM recsys_signal_current c "
                "JOIN recsys_signal_versions v USING (tenant, surface, version) "
                "WHERE c.tenant = %s AND c.surface = %s FOR UPDATE OF c",
                (manifest.created_at, *scope),
            )
            current = cur.fetchone()
            if current is not None and current[0] == version:
                return WriteOutcome(version, False, f"{version} is already current (replay)")
            if current is not None and not current[1] and not rollback:
                return WriteOutcome(
                    version, False, f"kept {current[0]}: it was created after {version}"
                )
            cur.execute(
                "SELECT 1 FROM recsys_signal_versions "
                "WHERE tenant = %s AND surface = %s AND version = %s",
                (*scope, version),
            )
            if cur.fetchone() is None:
                cur.execute(
                    "INSERT INTO recsys_signal_versions "
                    "(tenant, surface, version, as_of, created_at, manifest, layout) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (*scope, version, manifest.as_of, manifest.created_at,
                     psycopg2.Binary(encode(manifest)), json.dumps(layout)),
                )  # fmt: skip
                for kind, table in tables.items():
                    _copy_in(cur, manifest, kind, table)
            cur.execute(
                "INSERT INTO recsys_signal_current (tenant, surface, version) "
                "VALUES (%s, %s, %s) ON CONFLICT (tenant, surface) DO UPDATE "
                "SET version = EXCLUDED.version, swapped_at = EXCLUDED.swapped_at",
                (*scope, version),
            )
            cur.execute(
                "DELETE FROM recsys_signal_versions WHERE tenant = %s AND surface = %s "
                "AND version <> %s AND version NOT IN (SELECT version FROM "
                "recsys_signal_versions WHERE tenant = %s AND surface = %s "
                "ORDER BY created_at DESC, version DESC LIMIT %s)",
                (*scope, version, *scope, retain),
            )
    return WriteOutcome(version, True, f"signals database serves {version}")


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
