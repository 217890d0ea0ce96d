"""Benchmark the evaluation's ranking: each kind one query at a time against its batch.

    .venv/bin/python bench/eval_ranking.py --event-mix clicks --items 5000 --clusters 50 \\
        --sessions 10 --users 20000 --events-per-day 200000     # issue 18's input shape

One synthetic day (the flags of bench/pipeline.py) is ingested into a temporary store, the
evaluation's model is trained on its split and its queries built (held-out users with their
history excluded, held-out session positions), then, for --repeat rounds, every kind ranks all
of them one query at a time (`ScopeModel.candidates`' per-kind calls, what the service runs) and
in its batch where it has one (serving/batched.py, batched_model.py). Prints the CPU seconds of
training the kinds on the split and of building the held-out cases (once each), then CPU seconds
per kind and path (best of 3), and the whole `candidates_many` against the per-query loop.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline import Table as StepTable
from pipeline import describe, parse_args, prepare

from recsys_algo.evaluation.evaluate import split_model
from recsys_algo.evaluation.sessions import session_cases
from recsys_algo.evaluation.split import holdout, split_window
from recsys_algo.kinds.kind import FACTORS, SESSIONS
from recsys_algo.recipes.params import ModelParams
from recsys_algo.serving import batched, batched_model
from recsys_algo.serving.implicit_index import CollabIndex
from recsys_algo.serving.ranking import EMPTY
from recsys_algo.serving.recommender import NO_CODES, Query, seeds_of
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.store.storage import open_storage


def cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    args = parse_args(sys.argv[1:])
    repeat = 3  # best of: the machine is shared
    params = ModelParams()
    with tempfile.TemporaryDirectory(prefix="recsys-bench-") as tmp:
        storage = open_storage(Path(tmp, "store").as_uri())
        p = prepare(storage, args, StepTable())
        ingest_partition(storage, p)
        canonicalize_partition(storage, p)
        inputs = read_model_inputs(storage, p, args.days, params).inputs
    split = split_window(inputs.events, inputs.as_of_end, params.evaluation)
    started = time.process_time()
    model = split_model(inputs, split, params)
    trained = time.process_time() - started
    assert model is not None
    data, cases = holdout(split, params.evaluation), session_cases(split, params.evaluation)
    held_out = time.process_time() - started - trained
    blend, top = params.blend, max(params.evaluation.ks)
    queries = [
        Query(k=top, user_id=u, session_items=h, exclude=frozenset(h))
        for u, h in zip(data.users, data.histories, strict=True)
    ] + [Query(k=top, session_items=prefix) for prefix in cases.prefixes]
    n = max(top, blend.candidates)
    vocab = model.vocab
    excludes = [vocab.codes_of(q.exclude) if q.exclude else NO_CODES for q in queries]
    seeds = [
        [(vocab.codes[i], w) for i, w in seeds_of(q.session_items, blend) if i in vocab.codes]
        for q in queries
    ]
    sessions = [vocab.session_codes(q.session_items) for q in queries]
    cold = [(vocab.codes_of(q.session_items), e) for q, e in zip(queries, excludes, strict=True)]
    cold = [(s, e) for (s, e), q in zip(cold, queries, strict=True) if q.user_id is None and s.size]
    paths: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]] = {}
    for kind, index in model.neighbors.items():
        paths[kind] = (
            lambda i=index: [
                i.expand(s, n, e) if s else EMPTY for s, e in zip(seeds, excludes, strict=True)
            ],
            None,
        )
    if model.sessions is not None:
        knn = model.sessions
        paths[SESSIONS] = (
            lambda: [knn.rank(s, n, e) for s, e in zip(sessions, excludes, strict=True)],
            lambda: batched.session_rank_many(knn, sessions, n, excludes),
        )
    for kind, users in model.user_models():
        batch = None
        if kind == FACTORS and isinstance(users, CollabIndex):
            batch = lambda c=users: batched_model.collab_fold_in_many(  # noqa: E731
                c, [s for s, _ in cold], n, [e for _, e in cold]
            )
        paths[f"{kind} fold-in"] = (lambda u=users: [u.fold_in(s, n, e) for s, e in cold], batch)
    paths["all kinds (candidates)"] = (
        lambda: [model.candidates(q, blend) for q in queries],
        lambda: batched_model.candidates_many(model, queries, blend),
    )
    print(f"\n{describe(args)}; {len(queries):,} queries ({len(data.users):,} users, "
          f"{len(cases):,} session positions, {len(cold):,} fold-ins)\n")  # fmt: skip
    print(f"Training every kind on the split (once): {trained:.2f} CPU s; the held-out users "
          f"and session cases: {held_out:.2f} CPU s\n")  # fmt: skip
    print("| kind | one query at a time (CPU s) | batched (CPU s) |\n|---|---:|---:|")
    for name, (one, many) in paths.items():
        single = min(cpu(one) for _ in range(repeat))
        both = f"{min(cpu(many) for _ in range(repeat)):.2f}" if many else "(not batched)"
        print(f"| {name} | {single:.2f} | {both} |", flush=True)


if __name__ == "__main__":
    main()
