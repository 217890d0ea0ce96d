"""MovieLens import on tiny hand-made files in both formats (never the real, licensed data)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.contracts.events import parse_files
from recsys_algo.sources.movielens.importer import (
    ML_100K_GENRES,
    day_files,
    import_movielens,
    load_movielens,
    rating_events,
)
from recsys_algo.store.catalog import read_catalog
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import FileStorage

REAL_100K = Path(__file__).resolve().parents[3] / "shared" / "data" / "ml-100k"
MIDNIGHT = 965_088_000  # 2000-08-01T00:00:00Z in epoch seconds
DAY_BEFORE, DAY = dt.date(2000, 7, 31), dt.date(2000, 8, 1)
# user, movie, rating, ts: a 30-minute gap keeps the session, 30 min + 1 s starts a new one,
# and user 1's first session crosses UTC midnight.
RATINGS = [
    (1, 10, 4.0, MIDNIGHT - 60),
    (1, 20, 3.5, MIDNIGHT + 60),
    (1, 30, 5.0, MIDNIGHT + 60 + 1800),
    (1, 10, 2.0, MIDNIGHT + 60 + 1800 + 1801),
    (2, 20, 1.0, MIDNIGHT),
]
# (day, user, item, value, ts_ms, session_id) in landing-file order (ts, then user, then item).
EXPECTED = [
    (DAY_BEFORE, "1", "10", 4.0, (MIDNIGHT - 60) * 1000, "ml-1-1"),
    (DAY, "2", "20", 1.0, MIDNIGHT * 1000, "ml-2-1"),
    (DAY, "1", "20", 3.5, (MIDNIGHT + 60) * 1000, "ml-1-1"),
    (DAY, "1", "30", 5.0, (MIDNIGHT + 1860) * 1000, "ml-1-1"),
    (DAY, "1", "10", 2.0, (MIDNIGHT + 3661) * 1000, "ml-1-2"),
]


def write_latest_small(folder: Path) -> Path:
    folder.mkdir()
    lines = ["userId,movieId,rating,timestamp", *(f"{u},{m},{r},{t}" for u, m, r, t in RATINGS)]
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        '10,"Heat, The (1995)",Action|Crime|Thriller\n'
        "20,Toy Story (1995),Adventure|Animation\n"
        "30,Odd Film (2001),(no genres listed)\n"
        "40,Unrated (2002),Drama\n"
    )
    tags = [
        (1, 10, " Heist "), (2, 10, "heist"), (1, 10, "Al Pacino"), (2, 10, "classic"),
        (3, 10, "CLASSIC"), (3, 10, "zzz"), (1, 10, "   "), (1, 30, "Weird"), (1, 40, "drama"),
    ]  # fmt: skip
    (folder / "tags.csv").write_text(
        "userId,movieId,tag,timestamp\n" + "".join(f"{u},{m},{t},1\n" for u, m, t in tags)
    )
    return folder


def write_100k(folder: Path) -> Path:
    folder.mkdir()
    (folder / "u.data").write_text("".join(f"{u}\t{m}\t{int(r)}\t{t}\n" for u, m, r, t in RATINGS))

    def item(movie: int, title: str, genres: set[str]) -> str:
        flags = "|".join("1" if g in genres else "0" for g in ML_100K_GENRES)
        return f"{movie}|{title}|01-Jan-1995||http://example.invalid/{movie}|{flags}\n"

    (folder / "u.item").write_bytes(
        (
            item(10, "Café Society (1995)", {"Crime", "Film-Noir"})
            + item(20, "Toy Story (1995)", {"Animation", "Children's", "Comedy"})
            + item(30, "unknown", {"unknown"})
        ).encode("latin-1")
    )
    (folder / "u.genre").write_text(
        "".join(f"{g}|{i}\n" for i, g in enumerate(ML_100K_GENRES)) + "\n"
    )
    return folder


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "store")


def all_keys(storage: FileStorage) -> list[str]:
    return storage.list("raw") + storage.list("catalog")


def landed(storage: FileStorage, day: dt.date) -> list[tuple[object, ...]]:
    result = parse_files(read_landing_files(storage, "ml", "ratings", day), "ml", "ratings", day)
    assert result.rejected == []
    frame = result.frame()
    assert set(frame["event_type"]) == {"rating"}
    return [
        (day, r["user_id"], r["item_id"], r["value"], r["ts"], r["session_id"])
        for r in frame.with_columns(pl.col("ts").dt.epoch("ms")).iter_rows(named=True)
    ]


@pytest.mark.parametrize("writer", [write_latest_small, write_100k])
def test_ratings_become_events_by_utc_day_with_sessions_split_by_the_30_minute_gap(
    writer: object, tmp_path: Path, storage: FileStorage
) -> None:
    folder = writer(tmp_path / "ml")  # type: ignore[operator]
    summary = import_movielens(folder, storage, "ml", "ratings")
    assert (summary.days, summary.events, summary.users) == (2, 5, 2)
    assert (summary.first_day, summary.last_day) == (DAY_BEFORE, DAY)
    expected = [
        e if summary.format == "ml-latest-small" else (*e[:3], float(int(e[3])), *e[4:])
        for e in EXPECTED
    ]
    assert landed(storage, DAY_BEFORE) + landed(storage, DAY) == expected
    assert storage.list("raw") == [
        "raw/ml/ratings/2000-07-31/movielens.jsonl",
        "raw/ml/ratings/2000-08-01/movielens.jsonl",
    ]
    first_line = storage.read_bytes(storage.list("raw")[0]).splitlines()[0]
    assert b'"event_id":"ml-1-10-965087940000"' in first_line


def test_latest_small_catalog_has_lowercased_genres_then_most_common_user_tags(
    tmp_path: Path, storage: FileStorage
) -> None:
    summary = import_movielens(write_latest_small(tmp_path / "ml"), storage, "ml", "ratings")
    assert summary.items == 4
    assert read_catalog(storage, "ml").select("item_id", "tags", "title").rows() == [
        (
            "10",
            ["action", "crime", "thriller", "classic", "heist", "al pacino"],
            "Heat, The (1995)",
        ),
        ("20", ["adventure", "animation"], "Toy Story (1995)"),
        ("30", ["weird"], "Odd Film (2001)"),
        ("40", ["drama"], "Unrated (2002)"),
    ]


def test_100k_catalog_reads_latin1_titles_and_genre_flags(
    tmp_path: Path, storage: FileStorage
) -> None:
    import_movielens(write_100k(tmp_path / "ml"), storage, "ml", "ratings")
    assert read_catalog(storage, "ml").select("item_id", "tags", "title").rows() == [
        ("10", ["crime", "film-noir"], "Café Society (1995)"),
        ("20", ["animation", "children's", "comedy"], "Toy Story (1995)"),
        ("30", ["unknown"], "unknown"),
    ]


def test_reimport_writes_identical_bytes(tmp_path: Path, storage: FileStorage) -> None:
    folder = write_latest_small(tmp_path / "ml")
    import_movielens(folder, storage, "ml", "ratings")
    before = {k: storage.read_bytes(k) for k in all_keys(storage)}
    import_movielens(folder, storage, "ml", "ratings")
    assert {k: storage.read_bytes(k) for k in all_keys(storage)} == before


def test_day_files_are_the_same_whatever_the_chunk_size(tmp_path: Path) -> None:
    events = rating_events(load_movielens(write_latest_small(tmp_path / "ml")).ratings)
    assert list(day_files(events, chunk_rows=1)) == list(day_files(events))


def _replace(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


@pytest.mark.parametrize(
    ("writer", "name", "text", "problem"),
    [
        (
            write_latest_small,
            "ratings.csv",
            "userId,movieId,rating\n1,2,3\n",
            "missing column(s) timestamp",
        ),
        (
            write_latest_small,
            "ratings.csv",
            "userId,movieId,rating,timestamp\n1,2,good,4\n",
            "wrong type",
        ),
        (
            write_latest_small,
            "ratings.csv",
            "userId,movieId,rating,timestamp\n1,2,,4\n",
            "empty rating",
        ),
        (
            write_latest_small,
            "ratings.csv",
            "userId,movieId,rating,timestamp\n",
            "holds no ratings",
        ),
        (
            write_latest_small,
            "ratings.csv",
            "userId,movieId,rating,timestamp\n1,2,3,-5\n",
            "out of range",
        ),
        (write_latest_small, "movies.csv", "movieId,title\n1,x\n", "missing column(s) genres"),
        (write_latest_small, "movies.csv", "movieId,title,genres\n1,a,x\n1,b,y\n", "appears twice"),
        (write_latest_small, "tags.csv", "userId,movieId,tag,timestamp\nx,1,a,1\n", "wrong type"),
        (write_100k, "u.data", "1\t2\t3\n", "rows have 3 tab-separated fields, expected 4"),
        (write_100k, "u.data", "1\t2\tx\t4\n", "wrong type"),
        (write_100k, "u.item", "1|Title|x|y|z\n", "expected 24"),
        (write_100k, "u.item", "1|T|d||u" + "|2" * 19 + "\n", "genre flags must be 0 or 1"),
        (write_100k, "u.genre", "Action|1\n", "indexes 0, 1, 2"),
    ],
)
def test_malformed_files_raise_data_source_error_naming_the_file(
    tmp_path: Path, storage: FileStorage, writer: object, name: str, text: str, problem: str
) -> None:
    folder = writer(tmp_path / "ml")  # type: ignore[operator]
    _replace(folder, name, text)
    with pytest.raises(DataSourceError) as info:
        import_movielens(folder, storage, "ml", "ratings")
    assert problem in str(info.value)
    assert str(folder) in str(info.value)
    assert all_keys(storage) == []


def test_missing_or_unknown_folders_are_explained(tmp_path: Path, storage: FileStorage) -> None:
    with pytest.raises(DataSourceError, match="not a folder"):
        import_movielens(tmp_path / "nope", storage, "ml", "ratings")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="no MovieLens files found"):
        import_movielens(tmp_path / "empty", storage, "ml", "ratings")
    folder = write_latest_small(tmp_path / "ml")
    (folder / "movies.csv").unlink()
    with pytest.raises(
        DataSourceError, match=r"looks like ml-latest-small but .*movies\.csv is missing"
    ):
        import_movielens(folder, storage, "ml", "ratings")


@pytest.mark.skipif(not REAL_100K.is_dir(), reason=f"{REAL_100K} is not present")
def test_real_ml_100k_imports_every_rating_and_every_line_parses(storage: FileStorage) -> None:
    summary = import_movielens(REAL_100K, storage, "ml", "ratings")
    assert (summary.events, summary.items, summary.users) == (100_000, 1_682, 943)
    total = 0
    for key in storage.list("raw"):
        day = dt.date.fromisoformat(key.split("/")[3])
        result = parse_files(
            read_landing_files(storage, "ml", "ratings", day), "ml", "ratings", day
        )
        assert result.rejected == []
        total += result.lines
    assert total == 100_000 and len(storage.list("raw")) == summary.days
