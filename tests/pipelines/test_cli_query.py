"""`recsys query "SQL"`: DuckDB over the store's canonical events, quarantined lines and
manifest history, within bounds, reading only the views a query names, writing nothing."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from recsys_algo.contracts import layout
from recsys_algo.contracts.names import Partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage
from recsys_pipelines.cli import main
from tests.pipelines.conftest import DAY0, event_lines
from tests.support.builders import SIGNING_SPEC, publish_popularity, signing_keys

DAY1 = DAY0 + dt.timedelta(days=1)
BAD_LINES = ["{not json", '{"ts": "2026-11-01T00:00:00Z"}', ""]  # the blank one is skipped
T0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    """acme/home: two days (the first with two bad lines) and two manifests; beta/home: a day."""
    for name in ("RECSYS_SIGNING_KEYS_FILE", "RECSYS_SIGNALS_DSN"):
        monkeypatch.delenv(name, raising=False)
    storage = FileStorage(tmp_path / "store")
    monkeypatch.setenv("RECSYS_STORAGE_URL", storage.url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", SIGNING_SPEC)
    for tenant, days in (("acme", (DAY0, DAY1)), ("beta", (DAY0,))):
        for i, day in enumerate(days):
            lines = event_lines(day, 30 + 10 * i, offset=i)
            if (tenant, day) == ("acme", DAY0):
                lines = [*lines[:5], *BAD_LINES, *lines[5:]]
            storage.write_bytes(f"raw/{tenant}/home/{day}/e.jsonl", "\n".join(lines).encode())
            ingest_partition(storage, Partition(tenant, "home", day))
            canonicalize_partition(storage, Partition(tenant, "home", day))
    for n, items in enumerate((("a", "b"), ("c", "d"))):
        publish_popularity(
            storage, tenant="acme", surface="home", items=items, now=T0 + dt.timedelta(hours=n)
        )
    return storage


def query(sql: str, *options: str) -> Result:
    return CliRunner().invoke(main, ["query", sql, *options])


def rows_of(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def refused(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert result.output.startswith("error: ") and text in result.output, result.output
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output


def test_events_are_every_canonical_row_with_its_scope_and_day(store: FileStorage) -> None:
    expected = {
        (tenant, day): pl.read_parquet(store.read_bytes(layout.canonical_key(tenant, "home", day)))
        for tenant, day in (("acme", DAY0), ("acme", DAY1), ("beta", DAY0))
    }
    sql = "SELECT tenant, day, count(*) AS n, count(DISTINCT user_id) AS users FROM events "
    found = rows_of(query(sql + "GROUP BY ALL ORDER BY ALL", "--format", "csv"))
    assert [(r["tenant"], r["day"], int(r["n"]), int(r["users"])) for r in found] == [
        (t, str(d), frame.height, frame["user_id"].n_unique())
        for (t, d), frame in sorted(expected.items())
    ]
    # The selection narrows what is read: one tenant, from one day on.
    narrowed = query(
        sql + "GROUP BY ALL", "--tenant", "acme", "--start", str(DAY1), "--format", "csv"
    )
    assert [(r["tenant"], r["day"]) for r in rows_of(narrowed)] == [("acme", str(DAY1))]


def test_quarantine_holds_each_rejected_line_with_file_line_and_reason(store: FileStorage) -> None:
    result = query("SELECT * FROM quarantine ORDER BY line", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["tenant"], r["day"], r["file"], r["line"]) for r in found] == [
        ("acme", str(DAY0), "e.jsonl", 6),
        ("acme", str(DAY0), "e.jsonl", 7),
    ]
    assert [r["raw"] for r in found] == BAD_LINES[:2]
    assert found[0]["reason"] == "invalid_json" and found[1]["reason"] == "schema"


def test_manifests_show_what_serves_and_broken_records_with_their_error(
    store: FileStorage,
) -> None:
    history = registry.history(store, signing_keys(), "acme", "home")
    newest, older = (entry.version for entry in history)
    sql = "SELECT version, serving, valid, json_extract(artifacts, '$.popularity.rows') AS r "
    found = rows_of(query(sql + "FROM manifests ORDER BY version", "--format", "csv"))
    assert [(r["version"], r["serving"], r["valid"], r["r"]) for r in found] == [
        (older, "False", "True", "2"),
        (newest, "True", "True", "2"),
    ]
    store.write_bytes(layout.history_key("acme", "home", older), b"garbage")
    broken = rows_of(
        query("SELECT version, valid, error FROM manifests WHERE NOT valid", "--format", "csv")
    )
    assert [(r["version"], r["valid"]) for r in broken] == [(older, "False")]
    assert "not valid JSON" in broken[0]["error"]


def test_a_view_the_sql_does_not_name_is_not_read(store: FileStorage) -> None:
    store.write_bytes(layout.canonical_key("acme", "home", DAY1), b"not parquet")
    assert query("SELECT count(*) FROM manifests").exit_code == 0
    refused(query("SELECT count(*) FROM events"), 5, "2026-11-02.parquet: not a parquet file")


@pytest.mark.parametrize(
    ("sql", "text"),
    [
        ("SELEC 1", "query: Parser Error: syntax error"),
        ("SELECT * FROM nowhere", "Table with name nowhere does not exist"),
        ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
        ("SET enable_external_access = true", "the configuration has been locked"),
        ("   ", "give one SQL statement"),
    ],
)
def test_bad_or_escaping_sql_is_one_error_line(store: FileStorage, sql: str, text: str) -> None:
    refused(query(sql), 2, text)


def test_a_query_writes_no_file(store: FileStorage, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    refused(query(f"COPY (SELECT * FROM events) TO '{target}'"), 2, "disabled by configuration")
    assert not target.exists()


def test_bounds_on_bytes_read_and_rows_printed(store: FileStorage) -> None:
    over = query("SELECT count(*) FROM events", "--max-mib", "0.001")  # about 1 kB
    refused(over, 2, "the events view would read more than 1,048 bytes from the store (at ")
    assert "narrow it with --tenant/--surface/--start/--end or raise --max-mib" in over.output
    small = query("SELECT * FROM events", "--max-mib", "1", "--max-rows", "3", "--format", "csv")
    assert len(rows_of(small)) == 3
    total = sum(len(pl.read_parquet(store.read_bytes(k))) for k in store.list("canonical/"))
    assert small.stderr.splitlines() == [f"... {total - 3} more rows (raise --max-rows)"]


def test_manifests_lists_history_scopes_and_never_the_pointers_folder(store: FileStorage) -> None:
    # A surface named like the history folder puts its pointer at
    # registry/current/beta/manifests/manifest.json: not a history record of tenant "current".
    publish_popularity(store, tenant="beta", surface="manifests", now=T0)
    sql = "SELECT DISTINCT tenant, surface, valid FROM manifests ORDER BY ALL"
    found = rows_of(query(sql, "--format", "csv"))
    assert [(r["tenant"], r["surface"], r["valid"]) for r in found] == [
        ("acme", "home", "True"),
        ("beta", "manifests", "True"),
    ]


def test_a_long_line_is_quarantined_as_an_excerpt_with_its_size_and_digest(
    store: FileStorage,
) -> None:
    day = DAY0 + dt.timedelta(days=5)
    long_line = b'{"ts": "' + b"x" * 200_000 + b'"}'
    store.write_bytes(f"raw/acme/home/{day}/e.jsonl", long_line + b"\n" + b"{bad\n")
    ingest_partition(store, Partition("acme", "home", day))
    sql = "SELECT line, truncated, bytes, sha256, length(raw) AS kept FROM quarantine "
    found = rows_of(query(sql + "ORDER BY line", "--start", str(day), "--format", "csv"))
    assert [(r["line"], r["truncated"], r["bytes"], r["sha256"]) for r in found] == [
        ("1", "True", str(len(long_line)), hashlib.sha256(long_line).hexdigest()),
        ("2", "", "", ""),
    ]
    assert int(found[0]["kept"]) < 10_000
