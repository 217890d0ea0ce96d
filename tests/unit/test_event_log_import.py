"""The generic event-log import (CSV, TSV, parquet with a column mapping) on tiny files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError, DataSourceError
from recsys_algo.contracts.events import parse_files
from recsys_algo.sources.tabular.importer import (
    MAX_DAYS,
    EventLogMapping,
    import_event_log,
)
from recsys_algo.sources.tabular.table import TableFormat
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import FileStorage
from tests.support.shared_data import ML_100K, shared_data

T, S = "shop", "web"
MIDNIGHT = 1_700_006_400  # 2023-11-15T00:00:00Z
DAY = dt.date(2023, 11, 15)
NEXT = DAY + dt.timedelta(days=1)
MAPPING = EventLogMapping(
    item_col="product", time_col="when", user_col="visitor", session_col="visit"
)


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "store")


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def landed(storage: FileStorage, day: dt.date) -> pl.DataFrame:
    """The day's landing files as the pipeline parses them; every line must be accepted."""
    result = parse_files(read_landing_files(storage, T, S, day), T, S, day)
    assert result.rejected == []
    return result.frame().with_columns(pl.col("ts").dt.epoch("ms"))


def test_rows_become_events_by_utc_day_with_ids_from_file_and_line(
    tmp_path: Path, storage: FileStorage
) -> None:
    path = write(
        tmp_path,
        "clicks.csv",
        "visitor,visit,product,when,extra\n"
        f"u1,v1,p1,{MIDNIGHT + 86_399},x\n"  # the last second of DAY
        f"u1,v1,p2,{MIDNIGHT + 86_400},x\n"  # the first second of the next day
        f",v2,p3,{MIDNIGHT + 10},x\n",  # an anonymous visit
    )
    summary = import_event_log(path, storage, T, S, MAPPING)
    assert (summary.days, summary.events, summary.users, summary.sessions, summary.items) == (
        2,
        3,
        1,
        2,
        3,
    )
    assert (summary.first_day, summary.last_day, summary.landing_name) == (
        DAY,
        NEXT,
        "clicks.jsonl",
    )
    first = landed(storage, DAY)
    assert first.select("user_id", "session_id", "item_id", "event_type", "event_id").rows() == [
        (None, "v2", "p3", "click", "clicks-4"),
        ("u1", "v1", "p1", "click", "clicks-2"),
    ]
    assert first["ts"].to_list() == [(MIDNIGHT + 10) * 1000, (MIDNIGHT + 86_399) * 1000]
    assert landed(storage, NEXT)["item_id"].to_list() == ["p2"]


@pytest.mark.parametrize(
    ("unit", "value"),
    [
        ("s", str(MIDNIGHT + 1.5)),
        ("ms", str((MIDNIGHT + 1) * 1000 + 500)),
        ("us", str(((MIDNIGHT + 1) * 1000 + 500) * 1000 + 999)),
        ("ns", str(((MIDNIGHT + 1) * 1000 + 500) * 1_000_000 + 7)),
        ("iso", "2023-11-15T00:00:01.500Z"),
        ("iso", "2023-11-15T02:00:01.500+02:00"),
        ("iso", "2023-11-15 00:00:01.5"),  # no offset: UTC
    ],
)
def test_every_time_unit_gives_the_same_instant_truncated_to_the_millisecond(
    tmp_path: Path, storage: FileStorage, unit: str, value: str
) -> None:
    path = write(tmp_path, "t.csv", f"product,when\np1,{value}\n")
    mapping = EventLogMapping(item_col="product", time_col="when", time_unit=unit)
    import_event_log(path, storage, T, S, mapping)
    assert landed(storage, DAY)["ts"].to_list() == [(MIDNIGHT + 1) * 1000 + 500]


BAD_ROWS = [
    ("p1,\n", "when is empty"),
    (",1700006400\n", "item_id is empty"),
    ("p1,yesterday\n", "when 'yesterday' is not a time in epoch s"),
    ("p1,-5\n", "is not a time in epoch s after 1970"),
    ("p1,1e300\n", "is not a time in epoch s"),
    ("p1,1700006400,extra\n", "3 fields, expected 2"),
    (f"{'x' * 257},1700006400\n", "item_id 'xxx"),
    ("p\x01,1700006400\n", "without control characters"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_a_bad_row_refuses_the_import_naming_file_line_and_reason_and_writes_nothing(
    tmp_path: Path, storage: FileStorage, row: str, reason: str
) -> None:
    path = write(tmp_path, "log.csv", f"product,when\np0,{MIDNIGHT}\n{row}p9,{MIDNIGHT}\n")
    with pytest.raises(DataSourceError) as info:
        import_event_log(path, storage, T, S, EventLogMapping("product", "when"))
    message = str(info.value)
    assert f"{path} line 3: " in message and reason in message, message
    assert "1 bad row(s), 0 allowed" in message and "nothing was written" in message
    assert storage.list("raw") == []


def test_bytes_that_do_not_decode_are_a_bad_row_with_their_line(
    tmp_path: Path, storage: FileStorage
) -> None:
    path = write(tmp_path, "log.csv", b"product,when\np0,1700006400\np\xff,1700006400\n")
    with pytest.raises(DataSourceError, match=r"log\.csv line 3: not utf-8"):
        import_event_log(path, storage, T, S, EventLogMapping("product", "when"))
    latin = TableFormat(encoding="latin-1")
    import_event_log(path, storage, T, S, EventLogMapping("product", "when"), latin)
    assert landed(storage, DAY)["item_id"].to_list() == ["p0", "p\xff"]


def test_allowed_bad_rows_are_skipped_and_reported_with_their_lines(
    tmp_path: Path, storage: FileStorage
) -> None:
    # A quoted field spanning two lines: the rows after it keep their true line numbers.
    path = write(
        tmp_path,
        "log.csv",
        f'product,when,note\np0,{MIDNIGHT},"two\nlines"\n\nbad,soon,x\np1,{MIDNIGHT},y\n',
    )
    mapping = EventLogMapping("product", "when")
    with pytest.raises(DataSourceError):
        import_event_log(path, storage, T, S, mapping)
    summary = import_event_log(path, storage, T, S, mapping, max_bad_rows=1)
    assert [str(row) for row in summary.bad_rows] == [
        f"{path} line 5: when 'soon' is not a time in epoch s after 1970"
    ]
    assert landed(storage, DAY).select("item_id", "event_id").rows() == [
        ("p0", "log-2"),
        ("p1", "log-6"),
    ]


def test_event_types_come_from_a_column_through_the_map_and_values_are_numbers(
    tmp_path: Path, storage: FileStorage
) -> None:
    path = write(
        tmp_path,
        "events.tsv",
        "ts\titem\ttype\tprice\n"
        f"{MIDNIGHT}\ta\tview\t\n"
        f"{MIDNIGHT + 1}\ta\taddtocart\t\n"
        f"{MIDNIGHT + 2}\ta\tpurchase\t9.5\n",
    )
    mapping = EventLogMapping(
        item_col="item",
        time_col="ts",
        event_type_col="type",
        event_map={"view": "click", "addtocart": "add_to_cart"},
        value_col="price",
    )
    import_event_log(path, storage, T, S, mapping)
    assert landed(storage, DAY).select("event_type", "value").rows() == [
        ("click", None),
        ("add_to_cart", None),
        ("purchase", 9.5),
    ]
    unmapped = EventLogMapping(item_col="item", time_col="ts", event_type_col="type")
    with pytest.raises(DataSourceError, match=r"line 2: type 'view' is not one of .*--event-map"):
        import_event_log(path, storage, T, S, unmapped)
    bad_value = write(tmp_path, "v.csv", f"item,ts,price\na,{MIDNIGHT},cheap\n")
    with pytest.raises(DataSourceError, match="line 2: price 'cheap' is not a finite number"):
        import_event_log(bad_value, storage, T, S, EventLogMapping("item", "ts", value_col="price"))


def test_a_file_without_header_is_read_by_position_or_by_the_names_given(
    tmp_path: Path, storage: FileStorage
) -> None:
    path = write(tmp_path, "u.data", f"7\t42\t5\t{MIDNIGHT}\n")
    positional = EventLogMapping(item_col="2", time_col="4", user_col="1", value_col="3")
    import_event_log(path, storage, T, S, positional, TableFormat(separator="\t", header=False))
    named = EventLogMapping(item_col="item", time_col="ts", user_col="user", value_col="r")
    fmt = TableFormat(separator="\t", header=False, names=("user", "item", "r", "ts"))
    import_event_log(path, storage, T, S, named, fmt, landing_name="named.jsonl")
    frame = landed(storage, DAY)
    assert frame.select("user_id", "item_id", "value").rows() == [("7", "42", 5.0)] * 2


def test_parquet_with_typed_columns(tmp_path: Path, storage: FileStorage) -> None:
    path = tmp_path / "log.parquet"
    pl.DataFrame(
        {
            "user": [1, 2],
            "item": [10, 20],
            "at": [
                dt.datetime(2023, 11, 15, 1, 0, tzinfo=dt.UTC),
                dt.datetime(2023, 11, 15, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            ],
        }
    ).write_parquet(path)
    summary = import_event_log(path, storage, T, S, EventLogMapping("item", "at", user_col="user"))
    assert summary.landing_name == "log.jsonl"
    assert landed(storage, DAY).select("user_id", "item_id", "ts", "event_id").rows() == [
        ("1", "10", (MIDNIGHT + 3600) * 1000, "log-1"),
        ("2", "20", (MIDNIGHT + 3600) * 1000, "log-2"),
    ]


def test_configuration_mistakes_are_config_errors_or_name_the_columns(
    tmp_path: Path, storage: FileStorage
) -> None:
    path = write(tmp_path, "log.csv", f"product,when\np0,{MIDNIGHT}\n")
    with pytest.raises(DataSourceError, match="no column 'item'; the header has 'product', 'when'"):
        import_event_log(path, storage, T, S, EventLogMapping("item", "when"))
    with pytest.raises(ConfigError, match="time unit 'minutes' is unknown"):
        EventLogMapping("product", "when", time_unit="minutes")
    with pytest.raises(ConfigError, match="event type 'view' is not one of"):
        EventLogMapping("product", "when", event_map={"v": "view"})
    with pytest.raises(ConfigError, match="cannot tell the separator"):
        import_event_log(write(tmp_path, "log.txt", "a"), storage, T, S, MAPPING)
    with pytest.raises(DataSourceError, match="more than max_rows 1 rows"):
        two = write(tmp_path, "two.csv", f"product,when\np0,{MIDNIGHT}\np1,{MIDNIGHT}\n")
        import_event_log(
            two, storage, T, S, EventLogMapping("product", "when"), TableFormat(max_rows=1)
        )
    assert storage.list("raw") == []


def test_a_log_spanning_too_many_days_is_refused_as_a_likely_wrong_time_unit(
    tmp_path: Path, storage: FileStorage
) -> None:
    far = MIDNIGHT + (MAX_DAYS + 1) * 86_400
    path = write(tmp_path, "log.csv", f"product,when\np0,{MIDNIGHT}\np1,{far}\n")
    with pytest.raises(ConfigError, match=r"more than 20000; is the time unit 's' right\?"):
        import_event_log(path, storage, T, S, EventLogMapping("product", "when"))
    assert storage.list("raw") == []


def test_reimport_writes_identical_bytes(tmp_path: Path, storage: FileStorage) -> None:
    path = write(tmp_path, "log.csv", f"product,when\np0,{MIDNIGHT}\np1,{MIDNIGHT + 86_400}\n")
    import_event_log(path, storage, T, S, EventLogMapping("product", "when"))
    before = {k: storage.read_bytes(k) for k in storage.list("raw")}
    import_event_log(path, storage, T, S, EventLogMapping("product", "when"))
    assert {k: storage.read_bytes(k) for k in storage.list("raw")} == before


rows = st.lists(
    st.tuples(
        st.text(
            st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=8
        ),
        st.integers(0, 3 * 86_400_000 - 1),
    ),
    min_size=1,
    max_size=30,
)


@settings(deadline=None, max_examples=25)  # each example writes files: timing is noise
@given(rows=rows)
def test_every_valid_row_becomes_one_event_the_pipeline_accepts(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int]]
) -> None:
    folder = tmp_path_factory.mktemp("log")
    path = folder / "log.parquet"
    pl.DataFrame(
        {"item": [r[0] for r in rows], "ms": [MIDNIGHT * 1000 + r[1] for r in rows]}
    ).write_parquet(path)
    storage = FileStorage(folder / "store")
    summary = import_event_log(path, storage, T, S, EventLogMapping("item", "ms", time_unit="ms"))
    days = sorted({dt.date.fromisoformat(key.split("/")[3]) for key in storage.list("raw")})
    events = pl.concat([landed(storage, day) for day in days])
    assert summary.events == events.height == len(rows)
    assert sorted(zip(events["item_id"], events["ts"], strict=True)) == sorted(
        (item, MIDNIGHT * 1000 + ms) for item, ms in rows
    )


def test_real_ml_100k_ratings_import_as_a_generic_log(storage: FileStorage) -> None:
    path = shared_data(ML_100K) / "u.data"
    mapping = EventLogMapping("2", "4", user_col="1", value_col="3", event_type="rating")
    fmt = TableFormat(separator="\t", header=False)
    summary = import_event_log(path, storage, T, S, mapping, fmt)
    assert (summary.bad_rows, summary.events, summary.users) == ((), 100_000, 943)
    assert len(storage.list("raw")) == summary.days == 213
