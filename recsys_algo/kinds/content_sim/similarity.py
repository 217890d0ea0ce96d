"""Item-to-item content similarity: TF-IDF over tags and titles, cosine, top-N per item."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Literal

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.kinds.last_result import LastResult
from recsys_algo.kinds.neighbors import NEIGHBOR_SCHEMA, check_neighbors

SCHEMA_VERSION = 1
_SCORE_SLACK = 1e-9  # identical vectors may score 1 + a few ulps before clipping


@dataclass(frozen=True)
class ContentSimParams:
    top_n: int = 50
    min_score: float = 0.05
    title_weight: float = 0.5  # weight of the title block relative to the tags block
    title_stop_words: Literal["english"] | None = "english"
    max_items: int = 2_000_000
    max_features: int = 200_000
    max_pairs: int = 200_000_000  # group-level similarity entries kept (memory guardrail)

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
        for name in ("max_items", "max_features", "max_pairs"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"content_sim {name} must be an integer >= 1, got {value!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def empty_neighbors() -> pl.DataFrame:
    return pl.DataFrame(schema=NEIGHBOR_SCHEMA)


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


# The last result, by content: the catalog rarely changes from one day to the next, while a
# range (`recsys materialize --start --end`, the bench) computes one day after the other in one
# process; over ml-latest-small's 9 742 movies this was half of a day's cost. One entry, keyed by
# the sha256 of the catalog's ids, tags and titles and the parameters: any change recomputes.
_last: LastResult[tuple[str, str], pl.DataFrame] = LastResult()


def forget_content_sim() -> None:
    """Drop the result kept for the next call (tests comparing against a reference path)."""
    _last.forget()


def compute_content_sim(catalog: pl.DataFrame, params: ContentSimParams) -> pl.DataFrame:
    """Top-N cosine neighbours per catalog item (events play no part, so cold items are covered).

    Items are sorted by id first, so column order, tie-breaks and float sums are the same on
    every run. An empty catalog gives an empty frame, which check_content_sim rejects. The same
    catalog and parameters as the previous call give the previous result (a copy).
    """
    _check_catalog(catalog, params)
    catalog = catalog.sort("item_id")
    columns = [catalog[name].to_list() for name in ("item_id", "tags", "title")]
    key = (
        hashlib.sha256(msgspec.json.encode(columns)).hexdigest(),
        msgspec.json.encode(params.as_dict(), order="sorted").decode(),
    )
    return _last.get(key, lambda: _neighbors(catalog, params)).clone()


def _neighbors(catalog: pl.DataFrame, params: ContentSimParams) -> pl.DataFrame:
    if catalog.height < 2:
        return empty_neighbors()
    # Imported here: TF-IDF and the sparse search need scipy, the artifact's
    # check (which every loader runs) needs neither.
    from recsys_algo.kinds.content_sim.features import build_groups
    from recsys_algo.kinds.content_sim.search import neighbor_lists

    groups = build_groups(
        [t if t is not None else [] for t in catalog["tags"].to_list()],
        [t if t is not None else "" for t in catalog["title"].to_list()],
        title_weight=params.title_weight,
        stop_words=params.title_stop_words,
        max_features=params.max_features,
        top_n=params.top_n,
        max_pairs=params.max_pairs,
    )
    rows, cols, scores = neighbor_lists(groups, params.top_n, params.min_score)
    if rows.size == 0:
        return empty_neighbors()
    presence = groups.tag_presence
    shared = presence[rows].multiply(presence[cols]).sum(axis=1)
    ids = catalog["item_id"]
    return pl.DataFrame(
        {
            "item_id": ids.gather(rows),
            "neighbor_id": ids.gather(cols),
            "score": scores,
            "support": np.asarray(shared).ravel().astype(np.int64),
        },
        schema=NEIGHBOR_SCHEMA,
    )


def check_content_sim(table: pa.Table, where: str, *, max_rows: int = 100_000_000) -> None:
    """Blocking checks for a content_sim artifact; raise ArtifactError naming what is wrong.

    The neighbour-shape checks, with cosine scores at most 1 and support (shared tags) >= 0:
    items can be similar by title alone.
    """
    check_neighbors(
        table, where, "content_sim", min_support=0, max_score=1 + _SCORE_SLACK, max_rows=max_rows
    )
