"""Item-to-item content similarity: TF-IDF over tags and titles, cosine, top-N per item."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from recsys_algo.errors import ArtifactError, ConfigError, ValidationGateError

SCHEMA_VERSION = 1
KIND = "content_sim"
NEIGHBOR_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "neighbor_id": pl.String(),
    "score": pl.Float64(),
    "support": pl.Int64(),
}
# Rows of X @ X.T held at once are bounded by this many stored products per block.
_BLOCK_PRODUCTS = 4_000_000
_HIST_BINS = 1024  # score histogram used to find each row's top-N threshold in one pass
_SCORE_SLACK = 1e-9  # identical vectors may score 1 + a few ulps before clipping


@dataclass(frozen=True)
class ContentSimParams:
    top_n: int = 50
    min_score: float = 0.05
    title_weight: float = 0.5  # weight of the title block relative to the tags block
    title_stop_words: Literal["english"] | None = "english"
    max_items: int = 2_000_000
    max_features: int = 200_000

    def __post_init__(self) -> None:
        if not 1 <= self.top_n <= 10_000:
            raise ConfigError(f"content_sim top_n must be in 1..10000, got {self.top_n}")
        if not 0.0 < self.min_score <= 1.0:
            raise ConfigError(f"content_sim min_score must be in (0, 1], got {self.min_score}")
        if not (np.isfinite(self.title_weight) and self.title_weight >= 0):
            raise ConfigError(
                f"content_sim title_weight must be finite and >= 0, got {self.title_weight}"
            )
        if self.title_stop_words not in ("english", None):
            raise ConfigError(
                f"content_sim title_stop_words must be 'english' or None, "
                f"got {self.title_stop_words!r}"
            )
        for name in ("max_items", "max_features"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"content_sim {name} must be an integer >= 1, got {value!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def empty_neighbors() -> pl.DataFrame:
    return pl.DataFrame(schema=NEIGHBOR_SCHEMA)


def _tags_as_tokens(tags: list[str]) -> list[str]:
    # Each tag is one token, whatever characters it holds; repeats count once.
    return sorted(set(tags))


def _tfidf(
    docs: list[Any], make: Callable[[], TfidfVectorizer], n_rows: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(L2-normalised TF-IDF, binary presence); an all-empty corpus gives 0 columns."""
    try:
        matrix = make().fit_transform(docs).tocsr()
    except ValueError as exc:  # sklearn: empty vocabulary (no tokens anywhere)
        if "empty vocabulary" not in str(exc):
            raise
        matrix = sp.csr_matrix((n_rows, 0), dtype=np.float64)
    matrix.sort_indices()
    presence = matrix.copy()
    presence.data = np.ones_like(presence.data)
    return normalize(matrix), presence


def _features(
    catalog: pl.DataFrame, params: ContentSimParams
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Item vectors (rows L2-normalised, tags block + weighted title block) and tag presence."""
    n = catalog.height
    tags = [t if t is not None else [] for t in catalog["tags"].to_list()]
    titles = [t if t is not None else "" for t in catalog["title"].to_list()]
    tag_x, tag_presence = _tfidf(
        tags,
        lambda: TfidfVectorizer(
            analyzer=_tags_as_tokens,
            binary=True,
            max_features=params.max_features,
            dtype=np.float64,
        ),
        n,
    )
    title_x, _ = _tfidf(
        titles,
        lambda: TfidfVectorizer(
            lowercase=True,
            stop_words=params.title_stop_words,
            max_features=params.max_features,
            dtype=np.float64,
        ),
        n,
    )
    x = sp.hstack([tag_x, params.title_weight * title_x], format="csr", dtype=np.float64)
    x = normalize(x)
    x.sort_indices()
    return x, tag_presence


def _row_blocks(x: sp.csr_matrix, xt: sp.csr_matrix) -> Iterator[tuple[int, int]]:
    """Row ranges whose share of X @ X.T stays under _BLOCK_PRODUCTS multiply-adds."""
    # Work of row i = sum of document frequencies of its features (bounds its stored products).
    per_entry = x.copy()
    per_entry.data = np.diff(xt.indptr)[x.indices].astype(np.float64)
    work = np.asarray(per_entry.sum(axis=1)).ravel()
    n = x.shape[0]
    cum = np.cumsum(work)
    start = 0
    while start < n:
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + _BLOCK_PRODUCTS, side="right"))
        stop = max(stop, start + 1)
        yield start, min(stop, n)
        start = stop


def _top_in_block(
    block: sp.csr_matrix, start: int, params: ContentSimParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, score) of each row's top-N by score desc, col asc; self and < min_score out."""
    rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    cols, scores = block.indices, np.minimum(block.data, 1.0)
    keep = (scores >= params.min_score) & (cols != rows + start)
    rows, cols, scores = rows[keep], cols[keep], scores[keep]
    k = params.top_n
    if rows.size and np.bincount(rows).max() > k:
        # Keep only entries in or above the histogram bin holding each row's k-th best score,
        # so the exact sort below sees about k entries per row instead of all of them.
        bins = np.minimum((scores * _HIST_BINS).astype(np.int64), _HIST_BINS)
        width = _HIST_BINS + 1
        hist = np.bincount(rows * width + bins, minlength=block.shape[0] * width)
        at_or_above = np.cumsum(hist.reshape(-1, width)[:, ::-1], axis=1)[:, ::-1]
        threshold = (at_or_above >= k).sum(axis=1) - 1  # -1: row has < k entries, keep all
        keep = bins >= threshold[rows]
        rows, cols, scores = rows[keep], cols[keep], scores[keep]
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    first = np.searchsorted(rows, rows, side="left")
    keep = np.arange(rows.size) - first < k
    return rows[keep] + start, cols[keep], scores[keep]


def _check_catalog(catalog: pl.DataFrame, params: ContentSimParams) -> None:
    missing = {"item_id", "tags", "title"} - set(catalog.columns)
    if missing:
        raise ConfigError(f"content_sim: catalog lacks columns {', '.join(sorted(missing))}")
    if catalog.height > params.max_items:
        raise ValidationGateError(
            f"content_sim: catalog has {catalog.height} items, exceeds max_items {params.max_items}"
        )
    if catalog["item_id"].null_count():
        raise ValidationGateError("content_sim: catalog has a null item_id")
    if catalog["item_id"].n_unique() != catalog.height:
        raise ValidationGateError("content_sim: catalog repeats an item_id")


def compute_content_sim(catalog: pl.DataFrame, params: ContentSimParams) -> pl.DataFrame:
    """Top-N cosine neighbours per catalog item (events play no part, so cold items are covered).

    Items are sorted by id first, so column order, tie-breaks and float sums are the same on
    every run. An empty catalog gives an empty frame, which check_content_sim rejects.
    """
    _check_catalog(catalog, params)
    catalog = catalog.sort("item_id")
    if catalog.height < 2:
        return empty_neighbors()
    x, tag_presence = _features(catalog, params)
    xt = x.T.tocsr()
    parts = [_top_in_block(x[a:b] @ xt, a, params) for a, b in _row_blocks(x, xt)]
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    scores = np.concatenate([p[2] for p in parts])
    if rows.size == 0:
        return empty_neighbors()
    shared = tag_presence[rows].multiply(tag_presence[cols]).sum(axis=1)
    ids = catalog["item_id"].to_numpy()
    return pl.DataFrame(
        {
            "item_id": ids[rows],
            "neighbor_id": ids[cols],
            "score": scores,
            "support": np.asarray(shared).ravel().astype(np.int64),
        },
        schema=NEIGHBOR_SCHEMA,
    )


def check_content_sim(table: pa.Table, where: str, *, max_rows: int = 100_000_000) -> None:
    """Blocking checks for a content_sim artifact; raise ArtifactError naming what is wrong."""
    expected = {
        "item_id": pa.string(),
        "neighbor_id": pa.string(),
        "score": pa.float64(),
        "support": pa.int64(),
    }
    actual = {f.name: f.type for f in table.schema}
    # polars may emit large_string; both are Arrow strings.
    actual = {k: pa.string() if v == pa.large_string() else v for k, v in actual.items()}
    if actual != expected:
        raise ArtifactError(f"{where}: content_sim schema is {actual}, expected {expected}")
    if table.num_rows == 0:
        raise ArtifactError(f"{where}: content_sim has no rows")
    if table.num_rows > max_rows:
        raise ArtifactError(f"{where}: content_sim has {table.num_rows} rows, max is {max_rows}")
    if any(table[c].null_count for c in expected):
        raise ArtifactError(f"{where}: content_sim has null values")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    scores = frame["score"].to_numpy()
    if not np.all(np.isfinite(scores)) or np.any(scores <= 0) or np.any(scores > 1 + _SCORE_SLACK):
        raise ArtifactError(f"{where}: content_sim scores must be finite and in (0, 1]")
    if (frame["item_id"] == frame["neighbor_id"]).any():
        raise ArtifactError(f"{where}: content_sim pairs an item with itself")
    if frame.select(pl.struct("item_id", "neighbor_id").is_duplicated().any()).item():
        raise ArtifactError(f"{where}: content_sim repeats an (item_id, neighbor_id) pair")
    expected_order = frame.sort(
        ["item_id", "score", "neighbor_id"], descending=[False, True, False], maintain_order=True
    )
    if not frame.select("item_id", "score", "neighbor_id").equals(
        expected_order.select("item_id", "score", "neighbor_id")
    ):
        raise ArtifactError(
            f"{where}: content_sim rows are not sorted by item_id, score desc, neighbor_id"
        )
