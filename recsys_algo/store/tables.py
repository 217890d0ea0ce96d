"""The store's contents as Arrow tables to inspect (`recsys query`): canonical events and
quarantined lines of every scope and day in a selection, read through the storage interface
(so file:// and s3:// alike), with a bound on the bytes read."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ArtifactError, ConfigError, DataSourceError
from recsys_algo.contracts.names import is_valid_name
from recsys_algo.store.storage import Storage

_SOME_DAY = dt.date(2000, 1, 1)
# Where each table's files live: root/{tenant}/{surface}/{day}{suffix}, as layout names them.
CANONICAL_ROOT, _, CANONICAL_SUFFIX = layout.canonical_key("t", "s", _SOME_DAY).partition("/t/s/")
CANONICAL_SUFFIX = CANONICAL_SUFFIX.removeprefix(_SOME_DAY.isoformat())
QUARANTINE_ROOT, _, QUARANTINE_SUFFIX = layout.quarantine_key("t", "s", _SOME_DAY).partition(
    "/t/s/"
)
QUARANTINE_SUFFIX = QUARANTINE_SUFFIX.removeprefix(_SOME_DAY.isoformat())
# A long line keeps an excerpt as raw: truncated, with its full size and sha256.
QUARANTINE_FIELDS = ("file", "line", "reason", "detail", "raw", "truncated", "bytes", "sha256")


@dataclass(frozen=True)
class Selection:
    """Which scopes and days to read; None means every one."""

    tenant: str | None = None
    surface: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def wants(self, tenant: str, surface: str, day: dt.date | None = None) -> bool:
        if (self.tenant or tenant) != tenant or (self.surface or surface) != surface:
            return False
        if day is None:
            return True
        return (self.start or day) <= day <= (self.end or day)


@dataclass
class ByteBudget:
    """What one query may read from the store; going over is an error naming the file."""

    limit: int
    used: int = 0

    def read(self, storage: Storage, key: str, what: str) -> bytes:
        data = storage.read_bytes(key)
        self.used += len(data)
        if self.used > self.limit:
            raise ConfigError(
                f"{what} would read more than {self.limit:,} bytes from the store "
                f"(at {storage.uri_for(key)}): narrow it with --tenant/--surface/--start/--end "
                "or raise --max-mib"
            )
        return data


def _scoped_days(
    storage: Storage, root: str, suffix: str, selection: Selection
) -> Iterator[tuple[str, str, dt.date, str]]:
    """(tenant, surface, day, key) of root/{tenant}/{surface}/{day}{suffix}, sorted; keys that
    no writer could have made (bad names, not a date) are not rows of any table."""
    prefix = f"{root}/"
    if selection.tenant and selection.surface:
        prefix = f"{root}/{selection.tenant}/{selection.surface}/"
    for key in sorted(storage.list(prefix)):
        parts = key[len(root) + 1 :].split("/", 2)
        if len(parts) != 3 or not parts[2].endswith(suffix):
            continue
        tenant, surface, rest = parts
        try:
            day = dt.date.fromisoformat(rest.removesuffix(suffix))
        except ValueError:
            continue
        valid = is_valid_name(tenant) and is_valid_name(surface)
        if valid and selection.wants(tenant, surface, day):
            yield tenant, surface, day, key


def _with_scope(table: pa.Table, tenant: str, surface: str, day: dt.date) -> pa.Table:
    rows = table.num_rows
    columns = {
        "tenant": pa.array([tenant] * rows, pa.string()),
        "surface": pa.array([surface] * rows, pa.string()),
        "day": pa.array([day] * rows, pa.date32()),
    }
    for position, (name, column) in enumerate(columns.items()):
        if name not in table.column_names:
            table = table.add_column(position, name, column)
    return table


def _concat(tables: list[pa.Table], empty: pa.Schema) -> pa.Table:
    if not tables:
        return empty.empty_table()
    return pa.concat_tables(tables, promote_options="permissive")


def canonical_events(storage: Storage, selection: Selection, budget: ByteBudget) -> pa.Table:
    """Every canonical event of the selection, one row per event, with tenant, surface, day."""
    tables = []
    for tenant, surface, day, key in _scoped_days(
        storage, CANONICAL_ROOT, CANONICAL_SUFFIX, selection
    ):
        data = budget.read(storage, key, "the events view")
        try:
            table = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ArtifactError(f"{storage.uri_for(key)}: not a parquet file ({exc})") from exc
        tables.append(_with_scope(table, tenant, surface, day))
    empty = pa.schema([("tenant", pa.string()), ("surface", pa.string()), ("day", pa.date32())])
    return _concat(tables, empty)


def _quarantine_rows(data: bytes, where: str) -> Iterator[dict[str, object]]:
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DataSourceError(f"{where}:{number}: not a JSON line ({exc})") from exc
        if not isinstance(row, dict):
            raise DataSourceError(f"{where}:{number}: not a JSON object")
        yield {name: row.get(name) for name in QUARANTINE_FIELDS}


QUARANTINE_SCHEMA = pa.schema(
    [
        ("tenant", pa.string()),
        ("surface", pa.string()),
        ("day", pa.date32()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("raw", pa.string()),
        ("truncated", pa.bool_()),
        ("bytes", pa.int64()),
        ("sha256", pa.string()),
    ]
)


def quarantined_lines(storage: Storage, selection: Selection, budget: ByteBudget) -> pa.Table:
    """Every quarantined landing line of the selection with its reason, file and line number."""
    rows: list[dict[str, object]] = []
    found = _scoped_days(storage, QUARANTINE_ROOT, QUARANTINE_SUFFIX, selection)
    for tenant, surface, day, key in found:
        data = budget.read(storage, key, "the quarantine view")
        scope = {"tenant": tenant, "surface": surface, "day": day}
        rows.extend(scope | row for row in _quarantine_rows(data, storage.uri_for(key)))
    try:
        return pa.Table.from_pylist(rows, QUARANTINE_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataSourceError(f"a quarantine file holds a field of the wrong type: {exc}") from exc
