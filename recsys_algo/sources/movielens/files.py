"""Readers for MovieLens folders (ml-latest-small, ml-100k): ratings and a tagged catalog."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from recsys_algo.contracts.errors import DataSourceError

ML_LATEST_SMALL = "ml-latest-small"
ML_100K = "ml-100k"
ML_100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
MAX_USER_TAGS = 3  # most common user tags added to a movie's genres
_NO_GENRES = "(no genres listed)"
_REQUIRED_FILES = {ML_LATEST_SMALL: ("ratings.csv", "movies.csv"), ML_100K: ("u.data", "u.item")}
_RATINGS_SCHEMA: dict[str, pl.DataType] = {
    "userId": pl.Int64(),
    "movieId": pl.Int64(),
    "rating": pl.Float64(),
    "timestamp": pl.Int64(),
}


@dataclass(frozen=True)
class MovieLens:
    """ratings: user, item, rating, ts (epoch s); catalog: item_id, tags, title."""

    format: str
    ratings: pl.DataFrame
    catalog: pl.DataFrame


def detect_format(path: Path) -> str:
    """ml-latest-small if ratings.csv + movies.csv, ml-100k if u.data + u.item."""
    if not path.is_dir():
        raise DataSourceError(f"{path}: not a folder; point at an unpacked MovieLens data set")
    for name, required in _REQUIRED_FILES.items():
        present = [f for f in required if (path / f).is_file()]
        if len(present) == len(required):
            return name
        if present:
            missing = ", ".join(str(path / f) for f in required if f not in present)
            raise DataSourceError(f"{path}: looks like {name} but {missing} is missing")
    raise DataSourceError(
        f"{path}: no MovieLens files found; expected ratings.csv + movies.csv (ml-latest-small) "
        "or u.data + u.item (ml-100k)"
    )


def _read_csv(path: Path, data: bytes | None = None, **options: object) -> pl.DataFrame:
    """pl.read_csv, with every failure reported as DataSourceError naming the file."""
    try:
        source = io.BytesIO(data) if data is not None else path.read_bytes()
        return pl.read_csv(source, **options)  # type: ignore[arg-type]
    except (OSError, pl.exceptions.PolarsError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataSourceError(f"{path}: cannot read as MovieLens data ({detail})") from None


def _require(frame: pl.DataFrame, path: Path, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataSourceError(
            f"{path}: missing column(s) {', '.join(missing)}; header must include "
            f"{','.join(columns)}"
        )
    try:
        frame = frame.select([pl.col(c).cast(t, strict=True) for c, t in columns.items()])
    except pl.exceptions.PolarsError as exc:
        raise DataSourceError(f"{path}: a value has the wrong type ({exc})") from None
    for column in columns:
        nulls = frame[column].null_count()
        if nulls:
            raise DataSourceError(f"{path}: {nulls} row(s) have an empty {column}")
    return frame


def _ratings(raw: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Typed, range-checked ratings renamed to user, item, rating, ts (epoch seconds)."""
    ratings = _require(raw, path, _RATINGS_SCHEMA).rename(
        {"userId": "user", "movieId": "item", "timestamp": "ts"}
    )
    if ratings.is_empty():
        raise DataSourceError(f"{path}: holds no ratings")
    bad = ratings.filter((pl.col("rating") < 0) | (pl.col("rating") > 10) | (pl.col("ts") < 0))
    if bad.height:
        first = bad.row(0, named=True)
        raise DataSourceError(
            f"{path}: {bad.height} rating(s) out of range, e.g. {first}; "
            "ratings must be in 0..10 and timestamps non-negative epoch seconds"
        )
    return ratings


def _latest_small(path: Path) -> MovieLens:
    ratings_path, movies_path, tags_path = (
        path / f for f in ("ratings.csv", "movies.csv", "tags.csv")
    )
    ratings = _ratings(_read_csv(ratings_path, infer_schema=False), ratings_path)
    movies = _require(
        _read_csv(movies_path, infer_schema=False),
        movies_path,
        {"movieId": pl.Int64(), "title": pl.String(), "genres": pl.String()},
    )
    genres = movies.select(
        pl.col("movieId").cast(pl.String).alias("item_id"),
        pl.col("title"),
        pl.when(pl.col("genres") == _NO_GENRES)
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("genres").str.to_lowercase().str.split("|"))
        .alias("tags"),
    )
    if tags_path.is_file():
        genres = _add_user_tags(genres, tags_path)
    return MovieLens(ML_LATEST_SMALL, ratings, _tidy(genres, movies_path))


def _add_user_tags(catalog: pl.DataFrame, tags_path: Path) -> pl.DataFrame:
    """Append each movie's most common user tags (lower-cased, stripped), ties by name."""
    tags = _require(
        _read_csv(tags_path, infer_schema=False),
        tags_path,
        {"userId": pl.Int64(), "movieId": pl.Int64(), "tag": pl.String(), "timestamp": pl.Int64()},
    )
    common = (
        tags.select(
            pl.col("movieId").cast(pl.String).alias("item_id"),
            pl.col("tag").str.strip_chars().str.to_lowercase(),
        )
        .filter(pl.col("tag") != "")
        .group_by("item_id", "tag")
        .len()
        .sort(["item_id", "len", "tag"], descending=[False, True, False])
        .group_by("item_id", maintain_order=True)
        .agg(pl.col("tag").head(MAX_USER_TAGS).alias("user_tags"))
    )
    return (
        catalog.join(common, on="item_id", how="left")
        .with_columns(
            pl.concat_list("tags", pl.col("user_tags").fill_null(pl.lit([], pl.List(pl.String))))
            .list.unique(maintain_order=True)
            .alias("tags")
        )
        .drop("user_tags")
    )


def _ml_100k(path: Path) -> MovieLens:
    data_path, item_path, genre_path = (path / f for f in ("u.data", "u.item", "u.genre"))
    raw = _read_csv(data_path, separator="\t", has_header=False, infer_schema=False)
    if raw.width != len(_RATINGS_SCHEMA):
        raise DataSourceError(
            f"{data_path}: rows have {raw.width} tab-separated fields, expected 4 "
            "(user id, item id, rating, timestamp)"
        )
    ratings = _ratings(raw.rename(dict(zip(raw.columns, _RATINGS_SCHEMA, strict=True))), data_path)
    genres = _100k_genres(genre_path) if genre_path.is_file() else list(ML_100K_GENRES)
    try:
        text = item_path.read_bytes().decode("latin-1").encode()
    except OSError as exc:
        raise DataSourceError(f"{item_path}: cannot read ({exc})") from None
    columns = ["item", "title", "release", "video_release", "url", *genres]
    items = _read_csv(
        item_path, text, separator="|", has_header=False, infer_schema=False, quote_char=None
    )
    if items.width != len(columns):
        raise DataSourceError(
            f"{item_path}: rows have {items.width} '|'-separated fields, expected {len(columns)} "
            f"(id, title, release date, video release date, URL and {len(genres)} genre flags)"
        )
    flags = {g: pl.Int8() for g in genres}
    items = _require(
        items.rename(dict(zip(items.columns, columns, strict=True))),
        item_path,
        {"item": pl.Int64(), "title": pl.String(), **flags},
    )
    if items.select(pl.any_horizontal(~pl.col(genres).is_in([0, 1])).any()).item():
        raise DataSourceError(f"{item_path}: genre flags must be 0 or 1")
    catalog = items.select(
        pl.col("item").cast(pl.String).alias("item_id"),
        pl.col("title"),
        pl.concat_list([pl.when(pl.col(g) == 1).then(pl.lit(g.lower())) for g in genres])
        .list.drop_nulls()
        .alias("tags"),
    )
    return MovieLens(ML_100K, ratings, _tidy(catalog, item_path))


def _100k_genres(path: Path) -> list[str]:
    """Genre names in flag order, from u.genre ('name|index' lines; blank lines skipped)."""
    try:
        lines = [ln for ln in path.read_text(encoding="latin-1").splitlines() if ln.strip()]
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot read ({exc})") from None
    pairs = [ln.rsplit("|", 1) for ln in lines]
    if not pairs or [p[-1] for p in pairs] != [str(i) for i in range(len(pairs))]:
        raise DataSourceError(
            f"{path}: lines must be 'name|index' with indexes 0, 1, 2, ... in order"
        )
    return [p[0] for p in pairs]


def _tidy(catalog: pl.DataFrame, path: Path) -> pl.DataFrame:
    duplicated = catalog.filter(pl.col("item_id").is_duplicated())
    if duplicated.height:
        raise DataSourceError(f"{path}: movie id {duplicated['item_id'][0]} appears twice")
    return catalog.select("item_id", "tags", "title").sort(pl.col("item_id").cast(pl.Int64))


def load_movielens(path: Path) -> MovieLens:
    """Read a MovieLens folder of either supported format (detected from its files)."""
    fmt = detect_format(path)
    return _latest_small(path) if fmt == ML_LATEST_SMALL else _ml_100k(path)
