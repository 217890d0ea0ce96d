"""Session and user quality of every kind and of the served blend on a public log, time split.

    .venv/bin/python bench/blend_defaults.py diginetica ../shared/data/diginetica-sample
    .venv/bin/python bench/blend_defaults.py movielens ../shared/data/ml-100k --origin 2
    .venv/bin/python bench/blend_defaults.py diginetica PATH --revisit-weight 1   # the old default

The log is imported into a temporary file:// store (its licence forbids keeping anything derived
from it), parsed and canonicalized as ingest does, and one global time split holds out
--holdout-fraction of events (--origin 2: the window before the last one, a second split).
Every kind is trained on the rest and scored by recsys_algo.evaluation.evaluate.evaluate_split,
the code the pipeline's evaluation asset runs, with the default parameters (ModelParams()) and
the blend's default weights, optionally with revisit's weight replaced. Prints one Markdown
table: session MRR@20 and HR@20 (next item from each held-out prefix) and user NDCG@20 and
Recall@20, per kind and for the blend.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

import polars as pl

from recsys_algo.contracts.canonical import canonicalize
from recsys_algo.contracts.catalog import decode_catalog
from recsys_algo.contracts.events import parse_files
from recsys_algo.evaluation.evaluate import BLEND, evaluate_split
from recsys_algo.evaluation.split import time_splits
from recsys_algo.kinds.kind import KINDS, REVISIT
from recsys_algo.kinds.registry import Inputs
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.diginetica.importer import import_diginetica
from recsys_algo.sources.movielens.importer import import_movielens
from recsys_algo.store.catalog import read_catalog
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import open_storage

TENANT, SURFACE = "bench", "home"
COLUMNS = ("session_mrr@20", "session_hr@20", "ndcg@20", "recall@20")


def load(kind: str, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The log's canonical events and its catalog (empty when it has none)."""
    with tempfile.TemporaryDirectory(prefix="recsys-blend-") as root:
        storage = open_storage(f"file://{root}")
        importer = import_movielens if kind == "movielens" else import_diginetica
        summary = importer(path, storage, TENANT, SURFACE)
        frames = []
        day = summary.first_day
        while day <= summary.last_day:
            files = read_landing_files(storage, TENANT, SURFACE, day)
            if files:
                frames.append(parse_files(files, TENANT, SURFACE, day).frame())
            day += dt.timedelta(days=1)
        events, _ = canonicalize(pl.concat(frames, how="vertical"))
        catalog = read_catalog(storage, TENANT) if kind == "movielens" else decode_catalog(b"", "-")
    return events, catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=("movielens", "diginetica"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--holdout-fraction", type=float, default=0.1)
    parser.add_argument(
        "--origin", type=int, default=1, help="1: the last split; 2: the one before"
    )
    parser.add_argument("--revisit-weight", type=float, default=None)
    args = parser.parse_args()
    params = ModelParams()
    if args.revisit_weight is not None:
        weights = {**params.blend.weights, REVISIT: args.revisit_weight}
        params = params.with_overrides({"blend": {"weights": weights}})
    events, catalog = load(args.kind, args.path)
    last = events["ts"].max()
    assert isinstance(last, dt.datetime)
    inputs = Inputs(events, catalog, last + dt.timedelta(milliseconds=1))
    split = time_splits(events, args.holdout_fraction, args.origin)[-1]
    values = evaluate_split(inputs, split, params)
    print(
        f"## {args.path.name}, holdout {split.holdout_start:%Y-%m-%d %H:%M} "
        f"({args.holdout_fraction:.0%}, origin {args.origin}): "
        f"{values.get('session_cases', 0):.0f} session cases, {values['users']:.0f} users; "
        f"revisit weight {params.blend.weights[REVISIT]}\n"
    )
    print("| source | " + " | ".join(COLUMNS) + " |\n|---" + "|---:" * len(COLUMNS) + "|")
    for source in (*KINDS, BLEND):
        keys = [f"{source}.{column}" for column in COLUMNS]
        cells = [f"{values[key]:.4f}" if key in values else "-" for key in keys]
        print(f"| {source} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
