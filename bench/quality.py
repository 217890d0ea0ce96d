"""Offline quality of every artifact kind and of the served blend on MovieLens, time split.

    .venv/bin/python bench/quality.py                                 # ml-latest-small
    .venv/bin/python bench/quality.py ../shared/data/ml-100k
    .venv/bin/python bench/quality.py --params '{"implicit": {"factors": 32}}'
    .venv/bin/python bench/quality.py --origins 5                     # 5 rolling origins
    .venv/bin/python bench/quality.py --split per-user                # each user's last 10 %

The data set is imported into a temporary file:// store (the data's licence forbids
redistribution, so nothing derived from it is written anywhere else), every day is parsed and
canonicalized as the pipeline's ingest does, and one global time split holds out the last
--holdout-fraction of events (--origins N: N consecutive such windows, users pooled).
--split per-user instead holds out each user's own last --holdout-fraction of ratings
(temporal leave-last-out; other users' later ratings stay in training). Every kind
is trained on the training part and scored with recsys_algo.evaluation.evaluate.evaluate_split,
the same code the pipeline's evaluation asset runs.
Prints Markdown: the split, the held-out users, one table of kinds x metrics, the runtime.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from recsys_algo.contracts.canonical import canonicalize
from recsys_algo.contracts.events import parse_files
from recsys_algo.evaluation.evaluate import BLEND, Split, evaluate_split
from recsys_algo.evaluation.split import (
    INTERACTIONS,
    MIN_USER_EVENTS,
    MIN_USER_TRAIN,
    per_user_split,
    time_splits,
)
from recsys_algo.kinds.kind import KINDS
from recsys_algo.kinds.registry import Inputs
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.movielens.importer import import_movielens
from recsys_algo.store.catalog import read_catalog
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import Storage, open_storage

TENANT, SURFACE = "movielens", "ratings"
DEFAULT_PATH = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ml-latest-small"
# The shop defaults (popularity 7 d, the rest 14 d) forget a ratings history of years within
# weeks; these suit MovieLens. See docs/quality.md for why each was chosen.
MOVIELENS_DEFAULTS: dict[str, dict[str, Any]] = {
    "popularity": {"half_life_days": 365.0},
    "cooc": {"half_life_days": 3650.0},
    "session_seq": {"half_life_days": 3650.0},
    "implicit": {"half_life_days": 3650.0, "regularization": 100.0},
    "blend": {"recent_items": 10, "recency_decay": 0.9},
    "evaluation": {"max_users": 100_000},
}
COLUMNS = (
    ("Recall@10", "recall@10"),
    ("Recall@20", "recall@20"),
    ("NDCG@10", "ndcg@10"),
    ("NDCG@20", "ndcg@20"),
    ("MRR@20", "mrr@20"),
    ("coverage@20", "coverage@20"),
    ("next-item hit@20", "next_hit@20"),
)


def merge(base: Mapping[str, Mapping[str, Any]], extra: Mapping[str, Mapping[str, Any]]) -> dict:
    """Per-section overrides: extra's keys win within a section, other sections are kept."""
    out = {name: dict(values) for name, values in base.items()}
    for name, values in extra.items():
        out.setdefault(name, {}).update(values)
    return out


def canonical_events(storage: Storage, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Every day's landing files parsed (as ingest does), concatenated, then canonicalized."""
    frames = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        files = read_landing_files(storage, TENANT, SURFACE, day)
        if files:
            parsed = parse_files(files, TENANT, SURFACE, day)
            if parsed.rejected:
                raise SystemExit(f"{day}: {len(parsed.rejected)} lines rejected: {parsed.reasons}")
            frames.append(parsed.frame())
    frame, duplicates = canonicalize(pl.concat(frames, how="vertical"))
    if duplicates:
        print(f"  canonicalize removed {duplicates} duplicate events", file=sys.stderr)
    return frame


def continuity(split: Split) -> tuple[float, dt.timedelta]:
    """Per-user split diagnostics over users with held-out interactions: the share whose first
    held-out interaction is in the same session as their last training one, and the median gap
    between those two interactions.
    """
    interactions = pl.col("event_type").is_in(INTERACTIONS) & pl.col("user_id").is_not_null()
    order = ["user_id", "ts", "event_id"]
    last = split.train.filter(interactions).sort(order).group_by("user_id").last()
    first = split.test.filter(interactions).sort(order).group_by("user_id").first()
    pairs = first.join(last, on="user_id", suffix="_train")
    same = (pairs["session_id"] == pairs["session_id_train"]).fill_null(False).mean()
    gap = (pairs["ts"] - pairs["ts_train"]).median()
    assert isinstance(gap, dt.timedelta)
    return float(same or 0.0), gap


def pooled(results: list[dict[str, float]]) -> dict[str, float]:
    """Per-user means pooled over splits: each split's means weighted by its users.

    Splits with too few users (nothing measured) are left out. Coverage pools the same way,
    so with several origins it is the mean coverage of one split, not of their union.
    """
    measured = [r for r in results if len(r) > 1]
    users = sum(r["users"] for r in measured)
    out = {"users": users}
    for key in measured[0] if measured else ():
        if key != "users":
            out[key] = sum(r[key] * r["users"] for r in measured) / users
    return out


def table(values: Mapping[str, float]) -> str:
    lines = [
        "| source | " + " | ".join(title for title, _ in COLUMNS) + " |",
        "|---" + "|---:" * len(COLUMNS) + "|",
    ]
    for source in (*KINDS, BLEND):
        cells = [f"{values.get(f'{source}.{key}', float('nan')):.4f}" for _, key in COLUMNS]
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--holdout-fraction", type=float, default=0.1)
    parser.add_argument(
        "--origins",
        type=int,
        default=1,
        help="rolling origins: this many consecutive holdout windows, users pooled",
    )
    parser.add_argument(
        "--split",
        choices=("global", "per-user"),
        default="global",
        help="global: one time split point for everyone (default); per-user: each user's own "
        "last --holdout-fraction of ratings by time (leaks other users' later ratings)",
    )
    parser.add_argument(
        "--params", default="{}", help="JSON overrides per section, on top of MovieLens defaults"
    )
    parser.add_argument(
        "--shop-defaults", action="store_true", help="start from ModelParams() defaults instead"
    )
    args = parser.parse_args(argv)
    if not 0 < args.holdout_fraction < 1:
        parser.error(f"--holdout-fraction must be in (0, 1), got {args.holdout_fraction}")
    if not 1 <= args.origins < 1 / args.holdout_fraction:
        parser.error("--origins times --holdout-fraction must stay below 1")
    if args.split == "per-user" and args.origins != 1:
        parser.error("--origins applies to --split global only")
    overrides = merge({} if args.shop_defaults else MOVIELENS_DEFAULTS, json.loads(args.params))
    params = ModelParams.from_overrides(overrides)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="recsys-quality-") as root:
        storage = open_storage(f"file://{root}")
        summary = import_movielens(args.path, storage, TENANT, SURFACE)
        events = canonical_events(storage, summary.first_day, summary.last_day)
        catalog = read_catalog(storage, TENANT)
    loaded = time.perf_counter()
    last = events["ts"].max()
    assert isinstance(last, dt.datetime)
    inputs = Inputs(events, catalog, last + dt.timedelta(milliseconds=1))
    if args.split == "per-user":
        splits = [per_user_split(events, args.holdout_fraction)]
    else:
        splits = time_splits(events, args.holdout_fraction, args.origins)
    results = [evaluate_split(inputs, split, params) for split in splits]
    values = pooled(results)
    finished = time.perf_counter()

    print(f"## {summary.format}: {args.path.resolve().name}\n")
    print(
        f"- events {events.height:,} ({summary.users:,} users, {summary.items:,} catalog items, "
        f"{summary.first_day} .. {summary.last_day})"
    )
    for split, result in zip(splits, results, strict=True):
        if args.split == "per-user":
            test_ts = split.test["ts"]
            same, gap = continuity(split)
            print(
                f"- split: per user, each user's last {args.holdout_fraction:.0%} of ratings "
                f"(>= 1, users with >= {MIN_USER_EVENTS}, >= {MIN_USER_TRAIN} kept): "
                f"train {split.train.height:,}, test {split.test.height:,} events of "
                f"{split.test['user_id'].n_unique():,} users; held-out ratings "
                f"{test_ts.min().isoformat()} .. {test_ts.max().isoformat()}; training "
                f"as_of_end {split.holdout_start.isoformat()}; {int(result['users'])} users"
                + ("" if len(result) > 1 else " (too few: skipped)")
            )
            print(
                f"- first held-out rating in the same session as the last training one: "
                f"{same:.0%} of users; median gap between them {gap}"
            )
            continue
        print(
            f"- split: holdout {split.holdout_start.isoformat()} .. "
            f"{split.test['ts'].max().isoformat()} ({args.holdout_fraction:.0%} of events): "
            f"train {split.train.height:,}, test {split.test.height:,} events, "
            f"{int(result['users'])} users" + ("" if len(result) > 1 else " (too few: skipped)")
        )
    print(f"- users evaluated: {int(values['users']):,}")
    print(f"- overrides: `{json.dumps(overrides, sort_keys=True)}`")
    print(
        f"- runtime: {finished - started:.1f} s (import + parse {loaded - started:.1f} s, "
        f"train + evaluate {finished - loaded:.1f} s) on {platform.machine()}, "
        f"Python {platform.python_version()}\n"
    )
    print(table(values))


if __name__ == "__main__":
    main()
