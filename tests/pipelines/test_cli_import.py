"""`recsys import events` and `recsys import diginetica`: outputs, bad rows and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recsys_algo.store.storage import FileStorage, open_storage
from recsys_pipelines.cli import main

MIDNIGHT = 1_700_006_400  # 2023-11-15T00:00:00Z


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    url = (tmp_path / "store").as_uri()
    monkeypatch.setenv("RECSYS_STORAGE_URL", url)
    # The logs here are from 2023: partitions that reach them, so no first-day warning.
    monkeypatch.setenv("RECSYS_FIRST_DAY", "2023-01-01")
    storage = open_storage(url)
    assert isinstance(storage, FileStorage)
    return storage


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["import", *args])


def scope(*extra: str) -> list[str]:
    return ["--tenant", "shop", "--surface", "web", *extra]


def test_events_import_prints_what_it_wrote(tmp_path: Path, store: FileStorage) -> None:
    log = tmp_path / "views.tsv"
    log.write_text(f"7\tp1\t{MIDNIGHT}\n8\tp2\t{MIDNIGHT + 86_400}\n")
    result = run(
        "events", str(log), *scope(), "--no-header", "--columns", "user,item,ts",
        "--separator", "tab", "--user-col", "user", "--item-col", "item", "--time-col", "ts",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "imported views.tsv into shop/web: 2 events of 2 items, 2 users, 0 sessions over "
        "2 days 2023-11-15..2023-11-16 as views.jsonl"
    )
    assert store.list("raw") == [
        "raw/shop/web/2023-11-15/views.jsonl",
        "raw/shop/web/2023-11-16/views.jsonl",
    ]


def test_a_bad_row_exits_3_on_one_line_naming_file_and_line(
    tmp_path: Path, store: FileStorage
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(f"item,ts\np1,{MIDNIGHT}\np2,tomorrow\n")
    args = ["events", str(log), *scope(), "--item-col", "item", "--time-col", "ts"]
    result = run(*args)
    assert result.exit_code == 3, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert f"error: {log}: 1 bad row(s), 0 allowed: {log} line 3: ts 'tomorrow'" in result.output
    assert store.list("raw") == []
    allowed = run(*args, "--max-bad-rows", "1")
    assert allowed.exit_code == 0, allowed.output
    assert f"warning: skipped {log} line 3: ts 'tomorrow' is not a time" in allowed.output
    assert store.list("raw") == ["raw/shop/web/2023-11-15/log.jsonl"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--event-type-col", "ts", "--event-map", "view"], "must be SOURCE=TYPE"),
        (["--event-type-col", "ts", "--event-map", "v=view"], "event type 'view' is not one"),
        (["--columns", "a,b"], "column names are given for a file without a header only"),
        (["--separator", "::"], "must be one character"),
    ],
)
def test_mapping_mistakes_exit_2(
    tmp_path: Path, store: FileStorage, extra: list[str], message: str
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(f"item,ts\np1,{MIDNIGHT}\n")
    result = run("events", str(log), *scope(), "--item-col", "item", "--time-col", "ts", *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_diginetica_import_defaults_to_its_own_tenant(tmp_path: Path, store: FileStorage) -> None:
    views = tmp_path / "train-item-views.csv"
    views.write_text("session_id;user_id;item_id;timeframe;eventdate\n1;NA;10;5;2016-03-20\n")
    result = run("diginetica", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (
        "imported DIGINETICA into diginetica/home: 1 events of 1 items, 0 users, 1 sessions"
        in result.output
    )
    assert store.list("raw") == ["raw/diginetica/home/2016-03-20/train-item-views.jsonl"]


def test_a_first_day_in_1970_warns_about_the_time_unit(tmp_path: Path, store: FileStorage) -> None:
    log = tmp_path / "log.csv"
    log.write_text(f"item,ts\np1,{MIDNIGHT}\n")
    args = [*scope(), "--item-col", "item", "--time-col", "ts", "--time-unit", "ms"]
    result = run("events", str(log), *args)
    assert result.exit_code == 0, result.output
    assert "warning: the first day is 1970-01-20; is the time unit right?" in result.output
