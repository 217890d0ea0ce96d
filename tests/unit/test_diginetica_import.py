"""The DIGINETICA session-log import on tiny files, and on the real sample when present."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.contracts.events import parse_files
from recsys_algo.sources.diginetica.importer import import_diginetica
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import FileStorage
from tests.support.shared_data import DIGINETICA, shared_data

T, S = "dg", "home"
DAY = dt.date(2016, 3, 20)
NEXT = DAY + dt.timedelta(days=1)
MIDNIGHT_MS = 1_458_432_000_000  # 2016-03-20T00:00:00Z
HEADER = "session_id;user_id;item_id;timeframe;eventdate\n"


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "store")


def landed(storage: FileStorage, day: dt.date) -> list[tuple[object, ...]]:
    result = parse_files(read_landing_files(storage, T, S, day), T, S, day)
    assert result.rejected == []
    frame = result.frame().with_columns(pl.col("ts").dt.epoch("ms"))
    return frame.select("session_id", "user_id", "item_id", "ts", "event_type").rows()


def write(tmp_path: Path, text: str, name: str = "train-item-views.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_views_become_clicks_on_their_own_eventdate_even_when_a_session_crosses_midnight(
    tmp_path: Path, storage: FileStorage
) -> None:
    write(
        tmp_path,
        HEADER
        + "1;NA;10;5000;2016-03-20\n"  # session 1: one day, starts at midnight
        + "1;NA;11;1000;2016-03-20\n"
        + "2;77;20;500000;2016-03-20\n"  # session 2 runs past midnight: its first view on
        + "2;77;21;700000;2016-03-21\n"  # the 21st lands at 00:00 of the 21st
        + "2;77;22;900000;2016-03-21\n",
    )
    summary = import_diginetica(tmp_path, storage, T, S)  # the folder holding the file
    assert (summary.events, summary.sessions, summary.users, summary.items, summary.days) == (
        5,
        2,
        1,
        5,
        2,
    )
    next_midnight = MIDNIGHT_MS + 86_400_000
    assert landed(storage, DAY) == [
        ("1", None, "11", MIDNIGHT_MS + 1000, "click"),
        ("1", None, "10", MIDNIGHT_MS + 5000, "click"),
        ("2", "77", "20", next_midnight - 200_000, "click"),
    ]
    assert landed(storage, NEXT) == [
        ("2", "77", "21", next_midnight, "click"),
        ("2", "77", "22", next_midnight + 200_000, "click"),
    ]
    first = storage.read_bytes(storage.list("raw")[0]).splitlines()[0]
    assert b'"event_id":"train-item-views-3"' in first  # file stem and line


def test_the_full_data_sets_camel_case_header_is_read_the_same(
    tmp_path: Path, storage: FileStorage
) -> None:
    path = write(tmp_path, "sessionId;userId;itemId;timeframe;eventdate\n1;NA;10;5;2016-03-20\n")
    summary = import_diginetica(path, storage, T, S)
    assert summary.events == 1
    assert landed(storage, DAY) == [("1", None, "10", MIDNIGHT_MS + 5, "click")]


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ("1;NA;;5;2016-03-20\n", "line 3: item_id is empty"),
        ("NA;NA;10;5;2016-03-20\n", "line 3: session_id is empty"),
        ("1;NA;10;-1;2016-03-20\n", "line 3: timeframe '-1' is not milliseconds"),
        ("1;NA;10;soon;2016-03-20\n", "line 3: timeframe 'soon' is not milliseconds"),
        ("1;NA;10;5;20/03/2016\n", "line 3: eventdate '20/03/2016' is not a YYYY-MM-DD day"),
        ("1;NA;10;5\n", "line 3: 4 fields, expected 5"),
        # The view on the 21st comes earlier in the session than one on the 20th.
        (
            "3;NA;10;900000;2016-03-20\n3;NA;11;5;2016-03-21\n",
            "line 3: session 3: timeframe 900000 on 2016-03-20 does not fit",
        ),
    ],
)
def test_a_bad_row_refuses_the_import_with_its_line_and_writes_nothing(
    tmp_path: Path, storage: FileStorage, rows: str, reason: str
) -> None:
    path = write(tmp_path, HEADER + "9;NA;1;0;2016-03-20\n" + rows)
    with pytest.raises(DataSourceError) as info:
        import_diginetica(path, storage, T, S)
    assert f"{path} {reason}" in str(info.value)
    assert storage.list("raw") == []
    summary = import_diginetica(path, storage, T, S, max_bad_rows=1)
    assert [f"{path} {reason}" in str(row) for row in summary.bad_rows] == [True]
    assert summary.events == rows.count("\n")  # the good first row, and all but the bad one


def test_files_that_are_not_diginetica_are_explained(tmp_path: Path, storage: FileStorage) -> None:
    with pytest.raises(DataSourceError, match="is not DIGINETICA's session_id;user_id"):
        import_diginetica(write(tmp_path, "a,b,c\n1,2,3\n", "x.csv"), storage, T, S)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match=r"holds none of train-item-views\.csv"):
        import_diginetica(tmp_path / "empty", storage, T, S)
    with pytest.raises(DataSourceError, match="no events to import"):
        import_diginetica(write(tmp_path, HEADER, "only-header.csv"), storage, T, S)


def test_real_sample_imports_every_view_and_every_line_parses(storage: FileStorage) -> None:
    summary = import_diginetica(shared_data(DIGINETICA), storage, T, S)
    assert (summary.events, summary.sessions, summary.items, summary.days) == (
        12_391,
        2_986,
        7_139,
        142,
    )
    assert summary.bad_rows == ()
    total = 0
    for key in storage.list("raw"):
        total += len(landed(storage, dt.date.fromisoformat(key.split("/")[3])))
    assert total == summary.events
