"""The signals database: DSN handling, connections that fail as DataSourceError, the schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from recsys_algo.config import SIGNALS_DSN_ENV
from recsys_algo.contracts.errors import ConfigError, DataSourceError

SCHEMA_VERSION = 1
_LOCK_SCHEMA = "recsys-signals-schema"

Connection = Any  # psycopg2 ships no type hints

_DDL = """
CREATE TABLE IF NOT EXISTS recsys_signal_schema (
    id boolean PRIMARY KEY DEFAULT true CHECK (id), version integer NOT NULL);
CREATE TABLE IF NOT EXISTS recsys_signal_versions (
    tenant text NOT NULL, surface text NOT NULL, version text NOT NULL,
    as_of date NOT NULL, created_at timestamptz NOT NULL,
    manifest bytea NOT NULL, layout jsonb NOT NULL, written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, surface, version));
CREATE TABLE IF NOT EXISTS recsys_signal_current (
    tenant text NOT NULL, surface text NOT NULL, version text NOT NULL,
    swapped_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, surface),
    FOREIGN KEY (tenant, surface, version) REFERENCES recsys_signal_versions);
CREATE TABLE IF NOT EXISTS recsys_popularity (
    tenant text NOT NULL, surface text NOT NULL, version text NOT NULL, ordinal integer NOT NULL,
    item_id text NOT NULL, score double precision NOT NULL, events bigint NOT NULL,
    PRIMARY KEY (tenant, surface, version, ordinal),
    FOREIGN KEY (tenant, surface, version) REFERENCES recsys_signal_versions ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS recsys_neighbors (
    tenant text NOT NULL, surface text NOT NULL, version text NOT NULL, kind text NOT NULL,
    ordinal integer NOT NULL, item_id text NOT NULL, neighbor_id text NOT NULL,
    score double precision NOT NULL, support bigint NOT NULL,
    PRIMARY KEY (tenant, surface, version, kind, ordinal),
    FOREIGN KEY (tenant, surface, version) REFERENCES recsys_signal_versions ON DELETE CASCADE);
"""


def describe_dsn(dsn: str) -> str:
    """host:port/dbname of a DSN, for messages; never the password or the DSN itself."""
    # psycopg2 is imported where used: the service reads these names without DB-only mode.
    import psycopg2.extensions

    try:
        parts = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError:
        raise ConfigError(f"{SIGNALS_DSN_ENV} is not a valid PostgreSQL DSN") from None
    host = parts.get("host", "localhost")
    return f"{host}:{parts.get('port', '5432')}/{parts.get('dbname', parts.get('user', '?'))}"


def _reason(exc: Exception, dsn: str) -> str:
    import psycopg2.extensions

    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    password = psycopg2.extensions.parse_dsn(dsn).get("password")
    return text.replace(password, "***") if password else text


@contextlib.contextmanager
def connect(dsn: str) -> Iterator[Connection]:
    """A connection whose failures, at connect or later, raise DataSourceError naming host/db."""
    import psycopg2

    where = describe_dsn(dsn)
    try:
        conn = psycopg2.connect(dsn, connect_timeout=10, application_name="recsys-signals")
    except psycopg2.Error as exc:
        raise DataSourceError(f"signals database {where}: {_reason(exc, dsn)}") from None
    try:
        yield conn
    except psycopg2.Error as exc:
        raise DataSourceError(f"signals database {where}: {_reason(exc, dsn)}") from None
    finally:
        conn.close()


def ensure_schema(conn: Connection) -> None:
    """Create the tables if missing (idempotent, safe with concurrent callers); check version."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_LOCK_SCHEMA,))
        cur.execute(_DDL)
        cur.execute(
            "INSERT INTO recsys_signal_schema (version) VALUES (%s) ON CONFLICT DO NOTHING",
            (SCHEMA_VERSION,),
        )
        cur.execute("SELECT version FROM recsys_signal_schema")
        check_schema_version(cur.fetchone()[0])


def check_schema_version(found: int) -> None:
    if found != SCHEMA_VERSION:
        raise ConfigError(
            f"signals tables have schema version {found}; this code reads {SCHEMA_VERSION}"
        )
