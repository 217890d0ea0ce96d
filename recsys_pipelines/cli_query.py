"""`recsys query "SQL"`: DuckDB over the store's tables (canonical events, quarantined lines,
manifest history), read through the storage interface, so file:// and s3:// alike.

The views are loaded only when the SQL names them, within a byte budget; DuckDB runs in memory
with file system access, extension loading and configuration changes switched off, so a query
reads what the views hold and writes nothing anywhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import click
import pyarrow as pa

from recsys_algo.config import SharedEnv
from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import is_valid_name
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store import registry, tables
from recsys_algo.store.pointer import list_published_scopes, pointer_state
from recsys_algo.store.storage import Storage, open_storage
from recsys_pipelines.cli_manifests import manifest_summary
from recsys_pipelines.cli_support import day_option, handle_errors, name_callback

MAX_SQL_CHARS = 100_000
HISTORY_ROOT = "registry/"


def manifest_rows(storage: Storage, keys: SigningKeys, selection: tables.Selection) -> pa.Table:
    """One row per history record of the selected scopes: verified or not (and why), serving."""
    scopes = set(list_published_scopes(storage))
    for key in storage.list(HISTORY_ROOT):
        parts = key.split("/")
        # A history record's key, not one in the pointers' folder (registry/current/...).
        pointer = key.startswith(f"{layout.POINTER_ROOT}/")
        named = len(parts) == 5 and all(map(is_valid_name, parts[1:3]))
        if named and not pointer and key.startswith(layout.history_prefix(*parts[1:3])):
            scopes.add((parts[1], parts[2]))
    rows = []
    for tenant, surface in sorted(s for s in scopes if selection.wants(*s)):
        state = pointer_state(storage, keys, tenant, surface)
        serving = state.current.manifest.manifest_version if state.current else None
        for entry in registry.history(storage, keys, tenant, surface):
            summary = manifest_summary(entry.manifest) if entry.manifest else {}
            gate = summary.get("quality_gate", {})
            rows.append(
                {
                    "tenant": tenant,
                    "surface": surface,
                    "version": entry.version,
                    "serving": entry.version == serving,
                    "valid": entry.manifest is not None,
                    "error": entry.error,
                    "as_of": summary.get("as_of"),
                    "created_at": summary.get("created_at"),
                    "previous_version": summary.get("previous_version"),
                    "gate": gate.get("verdict"),
                    "artifacts": json.dumps(summary.get("artifacts")) if summary else None,
                    "metrics": json.dumps(summary.get("metrics")) if summary else None,
                    "quality_gate": json.dumps(gate) if gate else None,
                }
            )
    return pa.Table.from_pylist(rows, MANIFEST_SCHEMA)


MANIFEST_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("tenant", "surface", "version")]
    + [("serving", pa.bool_()), ("valid", pa.bool_()), ("error", pa.string())]
    + [(name, pa.string()) for name in ("as_of", "created_at", "previous_version", "gate")]
    + [(name, pa.string()) for name in ("artifacts", "metrics", "quality_gate")]
)
# The view over each loaded table: typed columns (days, times, JSON) for SQL to use.
VIEWS: dict[str, str] = {
    "events": "SELECT * FROM {table}",
    "quarantine": "SELECT * FROM {table}",
    "manifests": (
        "SELECT * EXCLUDE (as_of, created_at, artifacts, metrics, quality_gate), "
        "CAST(as_of AS DATE) AS as_of, CAST(created_at AS TIMESTAMPTZ) AS created_at, "
        "CAST(artifacts AS JSON) AS artifacts, CAST(metrics AS JSON) AS metrics, "
        "CAST(quality_gate AS JSON) AS quality_gate FROM {table}"
    ),
}


def named_views(sql: str) -> list[str]:
    """The views the SQL names: only those are read from the store."""
    return [name for name in VIEWS if re.search(rf"\b{name}\b", sql, re.IGNORECASE)]


def run_query(sql: str, loaded: dict[str, pa.Table], memory_mib: int) -> pa.Table:
    import duckdb

    con = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": 2,
            "memory_limit": f"{memory_mib}MB",
        },
    )
    try:
        for name, table in loaded.items():
            con.register(f"_{name}_arrow", table)
            con.execute(f"CREATE VIEW {name} AS " + VIEWS[name].format(table=f"_{name}_arrow"))
        con.execute("SET lock_configuration = true")
        try:
            relation = con.sql(sql)
            # A statement without a result (CREATE VIEW ...) has no relation: no rows.
            return pa.table({}) if relation is None else relation.to_arrow_table()
        except duckdb.Error as exc:
            # DuckDB's message, on one line, without the caret picture of the statement.
            message = " ".join(re.split(r"\s+LINE \d+:", str(exc), maxsplit=1)[0].split())
            raise ConfigError(f"query: {message} (views: {', '.join(VIEWS)})") from exc
    finally:
        con.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _text(result: pa.Table, rows: list[dict[str, Any]]) -> None:
    names = result.column_names
    cells = [[_cell(row[n]).replace("\n", "\\n") for n in names] for row in rows]
    widths = [max([len(n), *(len(c[i]) for c in cells)]) for i, n in enumerate(names)]
    for line in [list(names), *cells]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def _csv(result: pa.Table, rows: list[dict[str, Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(result.column_names)
    writer.writerows([_cell(row[n]) for n in result.column_names] for row in rows)


def _jsonl(result: pa.Table, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(json.dumps(row, default=_cell, ensure_ascii=False))


FORMATS: dict[str, Callable[[pa.Table, list[dict[str, Any]]], None]] = {
    "text": _text,
    "csv": _csv,
    "jsonl": _jsonl,
}


@click.command()
@click.argument("sql")
@click.option("--tenant", default=None, callback=name_callback("tenant"), help="Only this tenant.")
@click.option(
    "--surface", default=None, callback=name_callback("surface"), help="Only this surface."
)
@click.option("--start", default=None, callback=day_option, help="First day of events/quarantine.")
@click.option("--end", default=None, callback=day_option, help="Last day of events/quarantine.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text")
@click.option(
    "--max-rows", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
    help="Rows printed; the rest are counted on stderr.",
)  # fmt: skip
@click.option(
    "--max-mib", default=1024.0, show_default=True,
    type=click.FloatRange(0, 65_536, min_open=True),
    help="Bytes the views may read from the store, in MiB.",
)  # fmt: skip
@click.option(
    "--memory-mib", default=2048, show_default=True, type=click.IntRange(64, 65_536),
    help="DuckDB's memory limit.",
)  # fmt: skip
@handle_errors
def query(
    sql: str,
    tenant: str | None,
    surface: str | None,
    start: dt.date | None,
    end: dt.date | None,
    fmt: str,
    max_rows: int,
    max_mib: float,
    memory_mib: int,
) -> None:
    """Run SQL over the views events, quarantine and manifests (docs/operations.md)."""
    if not sql.strip() or len(sql) > MAX_SQL_CHARS:
        raise ConfigError(f"query: give one SQL statement of 1 to {MAX_SQL_CHARS} characters")
    if start and end and start > end:
        raise ConfigError(f"query: --start {start} is after --end {end}")
    settings = SharedEnv.load()
    storage = open_storage(settings.storage_url)
    selection = tables.Selection(tenant, surface, start, end)
    budget = tables.ByteBudget(int(max_mib * 2**20))
    readers: dict[str, Callable[[], pa.Table]] = {
        "events": lambda: tables.canonical_events(storage, selection, budget),
        "quarantine": lambda: tables.quarantined_lines(storage, selection, budget),
        "manifests": lambda: manifest_rows(storage, settings.signing_keys(), selection),
    }
    loaded = {name: readers[name]() for name in named_views(sql)}
    result = run_query(sql, loaded, memory_mib)
    rows = result.slice(0, max_rows).to_pylist()
    FORMATS[fmt](result, rows)
    if result.num_rows > max_rows:
        click.echo(f"... {result.num_rows - max_rows} more rows (raise --max-rows)", err=True)
