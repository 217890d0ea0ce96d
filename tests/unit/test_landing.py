from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from recsys_algo.contracts.catalog import CATALOG_SCHEMA
from recsys_algo.contracts.errors import ConfigError, DataSourceError, InvalidName, NotFoundError
from recsys_algo.contracts.events import parse_files
from recsys_algo.sources.synthetic.generator import generate_catalog, generate_day
from recsys_algo.store.catalog import read_catalog, write_catalog
from recsys_algo.store.landing import read_landing_files, write_landing_file
from recsys_algo.store.storage import FileStorage

DAY = dt.date(2026, 11, 20)


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "store")


def test_landing_files_roundtrip_sorted_by_name_under_the_raw_prefix(
    storage: FileStorage,
) -> None:
    key = write_landing_file(storage, "demo", "home", DAY, "b.jsonl", b"second\n")
    write_landing_file(storage, "demo", "home", DAY, "a-1.jsonl", b"first\n")
    assert key == "raw/demo/home/2026-11-20/b.jsonl"
    assert read_landing_files(storage, "demo", "home", DAY) == [
        ("a-1.jsonl", b"first\n"),
        ("b.jsonl", b"second\n"),
    ]


def test_rewriting_a_landing_file_replaces_it(storage: FileStorage) -> None:
    write_landing_file(storage, "demo", "home", DAY, "a.jsonl", b"old\n")
    write_landing_file(storage, "demo", "home", DAY, "a.jsonl", b"new\n")
    assert read_landing_files(storage, "demo", "home", DAY) == [("a.jsonl", b"new\n")]


def test_read_ignores_other_files_subfolders_and_other_days(storage: FileStorage) -> None:
    prefix = "raw/demo/home/2026-11-20"
    storage.write_bytes(f"{prefix}/notes.txt", b"x")
    storage.write_bytes(f"{prefix}/nested/deep.jsonl", b"x")
    write_landing_file(storage, "demo", "home", DAY + dt.timedelta(days=1), "a.jsonl", b"x")
    write_landing_file(storage, "demo", "web", DAY, "a.jsonl", b"x")
    assert read_landing_files(storage, "demo", "home", DAY) == []
    write_landing_file(storage, "demo", "home", DAY, "a.jsonl", b"y")
    assert read_landing_files(storage, "demo", "home", DAY) == [("a.jsonl", b"y")]


@pytest.mark.parametrize(
    "name",
    ["a.json", "../a.jsonl", "x/a.jsonl", ".hidden.jsonl", "a..jsonl", "", "a b.jsonl", ".jsonl"],
)
def test_unsafe_landing_names_are_refused(storage: FileStorage, name: str) -> None:
    with pytest.raises(ConfigError, match="landing file name"):
        write_landing_file(storage, "demo", "home", DAY, name, b"")
    assert storage.list("raw") == []


def test_bad_tenant_is_refused_before_writing(storage: FileStorage) -> None:
    with pytest.raises(InvalidName):
        write_landing_file(storage, "../x", "home", DAY, "a.jsonl", b"")


def test_synthetic_day_written_and_read_back_parses_cleanly(storage: FileStorage) -> None:
    data = generate_day(1, DAY, "demo", "home", events_per_day=2_000, bad_line_rate=0.0)
    write_landing_file(storage, "demo", "home", DAY, "synthetic.jsonl", data)
    result = parse_files(read_landing_files(storage, "demo", "home", DAY), "demo", "home", DAY)
    assert result.rejected == [] and result.lines == len(data.splitlines())


def test_catalog_roundtrip_keeps_tags_titles_and_nulls(storage: FileStorage) -> None:
    rows = [
        {"item_id": "m1", "tags": ["drama", "war"], "title": "One"},
        {"item_id": "m2", "tags": [], "surface": "home"},
    ]
    assert write_catalog(storage, "demo", rows) == "catalog/demo/items.jsonl"
    frame = read_catalog(storage, "demo")
    assert frame.schema == pl.Schema(CATALOG_SCHEMA)
    assert frame.to_dicts() == [
        {"item_id": "m1", "tags": ["drama", "war"], "title": "One", "surface": None},
        {"item_id": "m2", "tags": [], "title": None, "surface": "home"},
    ]


def test_synthetic_catalog_roundtrips(storage: FileStorage) -> None:
    rows = generate_catalog(5, n_items=300)
    write_catalog(storage, "demo", rows)
    frame = read_catalog(storage, "demo")
    assert frame.height == 300 and frame["tags"].list.len().min() >= 2  # type: ignore[operator]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b'{"item_id": "m2", "tags": ["a"]', "malformed"),
        (b'{"tags": ["a"]}', "missing required field `item_id`"),
        (b'{"item_id": "m2", "tags": "a"}', "Expected `array`"),
        (b'{"item_id": "", "tags": []}', "item_id must be 1..256"),
        (b'{"item_id": "m1"}', "item_id 'm1' appears twice"),
        (b'{"item_id": "m2", "tags": [""]}', "tags must be non-empty"),
        (b'{"item_id": "m\xff2"}', "not UTF-8"),
    ],
)
def test_malformed_catalog_line_raises_naming_the_line(
    storage: FileStorage, line: bytes, problem: str
) -> None:
    storage.write_bytes("catalog/demo/items.jsonl", b'{"item_id": "m1"}\n\n' + line + b"\n")
    with pytest.raises(DataSourceError, match=r"items\.jsonl line 3: ") as info:
        read_catalog(storage, "demo")
    assert problem in str(info.value)


def test_write_catalog_refuses_invalid_rows_without_writing(storage: FileStorage) -> None:
    with pytest.raises(DataSourceError, match="catalog row 1: item_id 'a' appears twice"):
        write_catalog(storage, "demo", [{"item_id": "a"}, {"item_id": "a"}])
    with pytest.raises(DataSourceError, match=r"catalog row 0: .*tags"):
        write_catalog(storage, "demo", [{"item_id": "a", "tags": [1]}])
    assert not storage.exists("catalog/demo/items.jsonl")


def test_missing_catalog_is_not_found(storage: FileStorage) -> None:
    with pytest.raises(NotFoundError, match=r"catalog/demo/items\.jsonl does not exist"):
        read_catalog(storage, "demo")


def test_landing_name_containing_tmp_marker_is_read_back(storage: FileStorage) -> None:
    write_landing_file(storage, "demo", "home", DAY, "batch.tmp-1.jsonl", b"x\n")
    assert read_landing_files(storage, "demo", "home", DAY) == [("batch.tmp-1.jsonl", b"x\n")]
