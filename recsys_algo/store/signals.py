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

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.contracts.manifest import Manifest, encode
from recsys_algo.kinds.artifacts import decode_artifact
from recsys_algo.kinds.kind import POPULARITY, SIGNALS_DB_KINDS
from recsys_algo.store.pg import connect, ensure_schema

DB_KINDS = SIGNALS_DB_KINDS  # popularity and neighbour kinds (these share one schema)
RETAIN_VERSIONS = 3  # newest versions kept per scope (the current one always is)
_COLUMNS: dict[str, tuple[str, ...]] = {
    POPULARITY: ("item_id", "score", "events"),
    **dict.fromkeys(
        (k for k in DB_KINDS if k != POPULARITY), ("item_id", "neighbor_id", "score", "support")
    ),
}


@dataclass(frozen=True)
class WriteOutcome:
    version: str
    swapped: bool
    message: str


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
    tables: dict[str, pa.Table] = {}
    for kind in DB_KINDS:
        if kind not in blobs:
            continue
        where = f"{manifest.tenant}/{manifest.surface} {manifest.manifest_version} {kind}"
        ref = manifest.artifacts.get(kind)
        if ref is None or hashlib.sha256(blobs[kind]).hexdigest() != ref.sha256:
            raise ArtifactError(f"{where}: artifact bytes do not match the manifest")
        tables[kind] = decode_artifact(blobs[kind], kind, where)
    if POPULARITY not in tables:
        raise ArtifactError(f"{manifest.tenant}/{manifest.surface}: no {POPULARITY} to write")
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
