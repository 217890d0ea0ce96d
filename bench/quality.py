"""The product's served answers next to the published simple baselines, same split, same run.

    .venv/bin/python bench/quality.py ../shared/data/diginetica-sample             # sessions
    .venv/bin/python bench/quality.py ../shared/data/diginetica-sample --origin 2  # the 20 % before
    .venv/bin/python bench/quality.py ../shared/data/ml-100k                       # users, global
    .venv/bin/python bench/quality.py ../shared/data/ml-latest-small --split per-user
    ... --tune    # the product tunes its recipe on the training part first (recsys tune's search)

The data set goes into the landing zone of a temporary file:// store with the product's
importer (its licence forbids redistribution: nothing derived is written anywhere else); each
day's files are parsed and the whole is canonicalized with the functions ingest calls. One split
(global: the last --fraction of events by time, --origin 2 the window before it; per-user: each
user's last --fraction) trains every kind as the artifact assets do; the model is written to and
read back from the service's prepared format (model_arrays / model_from_arrays) and answers with
ScopeModel.recommend, the call behind POST /v1/recommend. The baselines (bench/baselines.py) are
trained on the same training events and answer the same queries; all rows are scored by the
same functions as the pipeline's evaluation asset. Sessions (DIGINETICA): every held-out position
predicted from its prefix, nothing excluded. Users (MovieLens): each held-out user's training
items are the query and are excluded. Prints Markdown.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from baselines import Training, session_baselines, user_baselines
from quality_http import ask_over_http

from recsys_algo.contracts.canonical import canonicalize
from recsys_algo.contracts.events import parse_files
from recsys_algo.evaluation import metrics
from recsys_algo.evaluation.evaluate import (
    BLEND,
    rank_queries,
    session_scores,
    user_scores,
)
from recsys_algo.evaluation.params import EvalParams
from recsys_algo.evaluation.sessions import SessionCases, session_cases
from recsys_algo.evaluation.split import Holdout, Split, holdout, per_user_split, time_splits
from recsys_algo.kinds.registry import SPECS, Inputs
from recsys_algo.loading.model import load_model
from recsys_algo.recipes.params import ModelParams
from recsys_algo.recipes.tune_params import TuneParams
from recsys_algo.recipes.tuning import TuneResult, tune
from recsys_algo.serving.model_file import model_arrays, model_from_arrays
from recsys_algo.serving.precomputed import with_plain_answers
from recsys_algo.serving.recommender import Query, ScopeModel
from recsys_algo.sources.diginetica.importer import import_diginetica
from recsys_algo.sources.movielens.importer import import_movielens
from recsys_algo.store.catalog import read_catalog, write_catalog
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import Storage, open_storage

TENANT, SURFACE = "bench", "quality"
K = 20
SERVED = "served blend"
STARTING = "served blend, starting recipe (untuned)"
# The product's starting recipe per data set, what an operator sets with `recsys recipe set`:
# decay measured in years for a 20-year ratings history (the shop defaults forget it in weeks).
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "movielens": {
        "popularity": {"half_life_days": 365.0},
        "cooc": {"half_life_days": 3650.0},
        "session_seq": {"half_life_days": 3650.0},
        "session_knn": {"half_life_days": 3650.0},
        "item_model": {"half_life_days": 3650.0},
        "implicit": {"half_life_days": 3650.0, "regularization": 100.0},
        "blend": {"recent_items": 10, "recency_decay": 0.9},
    },
    "diginetica": {},
}
EVALUATION = {"max_users": 100_000, "max_session_cases": 100_000, "ks": [10, 20]}
SESSION_COLUMNS = (
    ("HR@20", f"session_hr@{K}"),
    ("MRR@20", f"session_mrr@{K}"),
    ("HR@20 repeat targets", f"session_hr_repeat@{K}"),
    ("HR@20 new targets", f"session_hr_new@{K}"),
    ("HR@10", "session_hr@10"),
    ("MRR@10", "session_mrr@10"),
)
USER_COLUMNS = (
    ("Recall@20", f"recall@{K}"),
    ("NDCG@20", f"ndcg@{K}"),
    ("MRR@20", f"mrr@{K}"),
    ("next-item hit@20", f"next_hit@{K}"),
    ("coverage@20", f"coverage@{K}"),
)


def merge(base: dict[str, dict[str, Any]], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {name: dict(values) for name, values in base.items()}
    for name, values in extra.items():
        out.setdefault(name, {}).update(values)
    return out


def load(path: Path, storage: Storage) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    """Import into the landing zone, parse every day as ingest does, canonicalize."""
    if (path / "u.data").exists() or (path / "ratings.csv").exists():
        kind, summary = "movielens", import_movielens(path, storage, TENANT, SURFACE)
    else:
        kind, summary = "diginetica", import_diginetica(path, storage, TENANT, SURFACE)
        write_catalog(storage, TENANT, [])  # no catalog in the data: the pipeline needs one
    frames = []
    for offset in range((summary.last_day - summary.first_day).days + 1):
        day = summary.first_day + dt.timedelta(days=offset)
        files = read_landing_files(storage, TENANT, SURFACE, day)
        if files:
            parsed = parse_files(files, TENANT, SURFACE, day)
            if parsed.rejected:
                raise SystemExit(f"{day}: {len(parsed.rejected)} lines rejected: {parsed.reasons}")
            frames.append(parsed.frame())
    events, _ = canonicalize(pl.concat(frames, how="vertical"))
    return kind, events, read_catalog(storage, TENANT)


def make_split(events: pl.DataFrame, how: str, fraction: float, origin: int) -> Split:
    if how == "per-user":
        return per_user_split(events, fraction)
    return time_splits(events, fraction, origin)[origin - 1]


def served_model(inputs: Inputs, params: ModelParams) -> tuple[ScopeModel, ScopeModel]:
    """Every kind trained as the artifact assets do; the model as loaded from the artifacts and
    as the service holds it (written to its prepared format and read back)."""
    tables = {k: spec.compute(inputs, params.of(k)).to_arrow() for k, spec in SPECS.items()}
    model = load_model({k: t for k, t in tables.items() if t.num_rows}, params.kinds_as_dict())
    description, arrays = model_arrays(with_plain_answers(model, params.blend))
    return model, model_from_arrays(description, arrays)


def queries_of(target: Holdout | SessionCases) -> list[tuple[tuple[str, ...], frozenset[str]]]:
    """(items, excluded) per case: users exclude their history, session prefixes nothing."""
    if isinstance(target, Holdout):
        return [(h, frozenset(h)) for h in target.histories]
    return [(prefix, frozenset()) for prefix in target.prefixes]


class Bench:
    """One split's held-out cases, the queries they ask and how an answer list is scored."""

    def __init__(self, kind: str, split: Split, catalog: pl.DataFrame, params: ModelParams):
        self.split, self.catalog = split, catalog
        self.target: Holdout | SessionCases = (
            holdout(split, params.evaluation)
            if kind == "movielens"
            else session_cases(split, params.evaluation)
        )
        self.asked = queries_of(self.target)
        users = self.target.users if isinstance(self.target, Holdout) else [None] * len(self)
        self.queries = [
            Query(k=K, user_id=user, session_items=items, exclude=excluded)
            for user, (items, excluded) in zip(users, self.asked, strict=True)
        ]
        self.catalog_size = int(pl.concat([split.train["item_id"], catalog["item_id"]]).n_unique())
        self.baselines = user_baselines if kind == "movielens" else session_baselines
        self.lists: dict[str, list[list[str]]] = {}  # each row's answers, for paired()

    def __len__(self) -> int:
        return len(self.asked)

    def score(
        self, recs: list[list[str]], target: Holdout | SessionCases | None = None
    ) -> dict[str, float]:
        target = self.target if target is None else target
        if isinstance(target, Holdout):
            return user_scores(recs, target, EVALUATION["ks"], self.catalog_size)
        return session_scores(recs, target, EVALUATION["ks"])

    def baseline_rows(self) -> dict[str, dict[str, float]]:
        data = Training.of(self.split.train)
        out = {}
        for b in self.baselines(data):
            recs = [b.recommend(items, K, excluded) for items, excluded in self.asked]
            self.lists[f"baseline: {b.name}"] = recs
            out[f"baseline: {b.name}"] = self.score(recs)
        return out

    def paired(self, source: str, results: dict[str, dict[str, float]]) -> str:
        """source against the best baseline (by the table's first column), case by case on the
        same cases: the mean difference and its standard error (clustered by session for
        session positions), per metric of the issue's targets."""
        first = USER_COLUMNS[0][1] if isinstance(self.target, Holdout) else SESSION_COLUMNS[0][1]
        baselines = [name for name in self.lists if name.startswith("baseline: ")]
        best = max(baselines, key=lambda name: (results[name][first], name))
        if isinstance(self.target, Holdout):
            truth, clusters, shown = self.target.truth, None, (("Recall@20", "recall"),)
            shown += (("NDCG@20", "ndcg"),)
        else:
            truth = [{target} for target in self.target.targets]
            clusters = np.asarray(self.target.session_of, dtype=np.int64)
            shown = (("HR@20", "recall"), ("MRR@20", "rr"))
        cases = {}
        for name in (source, best):
            hits, sizes = metrics.hit_matrix(self.lists[name], truth, K)
            cases[name] = metrics.per_case(hits, sizes, K)
        parts = []
        for title, metric in shown:
            diff = cases[source][metric] - cases[best][metric]
            se = (
                metrics.standard_error(diff)
                if clusters is None
                else metrics.clustered_standard_error(diff, clusters)
            )
            parts.append(f"{title} {float(np.mean(diff)):+.4f} (s.e. {se:.4f})")
        return f"paired, {source} - {best.removeprefix('baseline: ')}: " + ", ".join(parts)

    def product_rows(self, params: ModelParams, served_as: str) -> dict[str, dict[str, float]]:
        """Each kind alone, then the blend as the service answers (the row named served_as)."""
        train = Inputs(self.split.train, self.catalog, self.split.holdout_start)
        model, served = served_model(train, params)
        self.train, self.served = train, served  # what --http publishes and compares with
        ranked = rank_queries(model, self.queries, params.blend, K)
        out = {f"product kind: {s}": self.score(r) for s, r in ranked.items() if s != BLEND}
        answers = [[r.item_id for r in served.recommend(q, params.blend)] for q in self.queries]
        if answers != ranked[BLEND]:
            raise SystemExit("the served model answers differently from the loaded one")
        out[served_as] = self.score(answers)
        self.lists[served_as] = answers
        return out

    def http_rows(self, params: ModelParams, args: Any) -> tuple[dict[str, Any], str]:
        """The served blend asked over HTTP (bench/quality_http.py) on a seeded sample of the
        cases, beside the in-process model asked the same queries."""
        run = ask_over_http(
            self.target, self.asked, self.train, params, self.served, K, args.max_queries, args.seed
        )
        n = len(run.over_http)
        rows = {
            f"{SERVED}, in process, the {n} sampled cases": self.score(run.in_process, run.target),
            f"{SERVED} over HTTP, the {n} sampled cases": self.score(run.over_http, run.target),
        }
        note = (
            f"HTTP: {n} POST /v1/recommend (sample seed {args.seed}), {run.identical} answers "
            f"identical to the in-process model's; {run.truncated} histories sent as their "
            f"latest 200 items + exclude_items, {run.skipped} longer ones not asked"
        )
        return rows, note


def inner_folds(train: pl.DataFrame, how: str, fraction: float, folds: int) -> list[Split]:
    """The search's folds, inside the training part only: global, its last --fraction and the
    --fraction before; per-user, each user's last --fraction, then the last of what is left."""
    if how == "global":
        return time_splits(train, fraction, folds)
    splits = [per_user_split(train, fraction)]
    while len(splits) < folds:
        splits.append(per_user_split(splits[-1].train, fraction))
    return splits


def tuned(
    kind: str, split: Split, catalog: pl.DataFrame, base: ModelParams, args: Any
) -> TuneResult:
    """The product's own search, on the training part only (never on the test part), counting
    the protocol this data set is tested on, as an operator sets it for a surface that serves
    only known users (MovieLens) or only sessions (DIGINETICA)."""
    budget = TuneParams(
        seed=args.seed,
        kind_trials=args.kind_trials,
        blend_trials=60,
        time_budget_seconds=args.time_budget,
        folds=args.folds,
        protocols=("users",) if kind == "movielens" else ("sessions",),
    )
    inputs = Inputs(split.train, catalog, split.holdout_start)
    # The search judges with the shipped evaluation bounds (2000 users, 5000 session positions
    # per fold), as the tune_scope job does, not with this script's all-cases ones.
    searched = dataclasses.replace(base, evaluation=EvalParams())
    return tune(
        inputs, inner_folds(split.train, args.split, args.fraction, budget.folds), searched, budget
    )


def repeat_share(target: Holdout | SessionCases) -> str:
    if isinstance(target, Holdout):
        return ""
    repeats = sum(target.repeats)
    return f", {repeats:,} of them repeat targets ({repeats / max(len(target), 1):.0%})"


def table(results: dict[str, dict[str, float]], columns: tuple[tuple[str, str], ...]) -> str:
    lines = [
        "| source | " + " | ".join(title for title, _ in columns) + " |",
        "|---" + "|---:" * len(columns) + "|",
    ]
    for source, values in results.items():
        cells = [f"{values[key]:.4f}" for _, key in columns]
        name = f"**{source}**" if source.startswith(SERVED) and source != STARTING else source
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--split", choices=("global", "per-user"), default="global")
    parser.add_argument("--fraction", type=float, default=0.2, help="share of events held out")
    parser.add_argument("--origin", type=int, default=1, help="global: 2 = the window before")
    parser.add_argument("--params", default="{}", help="JSON overrides on the data set's recipe")
    parser.add_argument("--tune", action="store_true", help="tune on the training part first")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--kind-trials", type=int, default=12)
    parser.add_argument("--folds", type=int, default=2, help="the search's time folds")
    parser.add_argument("--http", action="store_true", help="also ask the real service")
    parser.add_argument("--max-queries", type=int, default=1000, help="--http: cases sampled")
    parser.add_argument("--time-budget", type=float, default=480.0, help="the search's seconds")
    args = parser.parse_args(argv)
    if not 0 < args.fraction < 0.5 or args.origin not in (1, 2):
        parser.error("--fraction must be in (0, 0.5) and --origin 1 or 2")
    if args.split == "per-user" and args.origin != 1:
        parser.error("--origin applies to --split global only")
    if not 1 <= args.max_queries <= 100_000:
        parser.error("--max-queries must be in 1..100000 (one request each)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="recsys-quality-") as root:
        kind, events, catalog = load(args.path, open_storage(f"file://{root}"))
    overrides = merge(merge(RECIPES[kind], {"evaluation": EVALUATION}), json.loads(args.params))
    params = ModelParams.from_overrides(overrides)
    split = make_split(events, args.split, args.fraction, args.origin)
    loaded = time.perf_counter()
    bench = Bench(kind, split, catalog, params)
    results = bench.baseline_rows()
    note = ""
    if args.tune:
        results[STARTING] = bench.product_rows(params, STARTING)[STARTING]
        result = tuned(kind, split, catalog, params, args)
        params = params.with_overrides(result.overrides or {})
        cut = ", stopped by its time budget" if result.stopped_by_time else ""
        note = f"tuned ({len(result.trials)} trials{cut}, seed {args.seed}): {result.message}; " + (
            f"overrides `{json.dumps(result.overrides, sort_keys=True)}`"
        )
    served_as = f"{SERVED} (tuned)" if args.tune else SERVED
    results.update(bench.product_rows(params, served_as))
    if args.http:
        rows, http_note = bench.http_rows(params, args)
        results.update(rows)
    finished = time.perf_counter()
    test = split.test["ts"]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"## {args.path.resolve().name}, {args.split} split\n")
    print(
        f"- events {events.height:,}: train {split.train.height:,}, test {split.test.height:,} "
        f"({test.min()} .. {test.max()}); {len(bench):,} held-out "
        + ("users" if kind == "movielens" else "session positions")
        + repeat_share(bench.target)
    )
    print(f"- recipe: `{json.dumps(overrides, sort_keys=True)}`" + (f"; {note}" if note else ""))
    print(
        f"- {finished - started:.0f} s (import {loaded - started:.0f} s), commit {commit}, "
        f"{platform.machine()} Python {platform.python_version()}"
        + (f"\n- {http_note}" if args.http else "")
        + f"\n- {bench.paired(served_as, results)}"
        + (f"\n- {bench.paired(STARTING, results)}" if args.tune else "")
        + "\n"
    )
    print(table(results, USER_COLUMNS if kind == "movielens" else SESSION_COLUMNS))


if __name__ == "__main__":
    main()
