"""Benchmark implicit fold-in: the per-request work of an anonymous visitor's session.

    .venv/bin/python bench/fold_in.py                          # 20k and 50k items x 64 factors
    .venv/bin/python bench/fold_in.py --items 50000 --factors 128 --calls 2000

Random item factors (seeded), the serving CollabIndex as the service builds it; each call folds
in a session of the given length and ranks the top 50 with 10 items excluded. Prints one
Markdown table: items, factors, session length, p50/p99/mean microseconds per call. One core,
BLAS limited to one thread inside the call as in the service. The fit and top-N of the
pipeline are measured by bench/pipeline.py (the `implicit` stage).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from recsys_algo.serving.implicit_index import CollabIndex


def index_of(n_items: int, factors: int, seed: int) -> CollabIndex:
    rng = np.random.default_rng(seed)
    item_factors = (rng.standard_normal((n_items, factors)) * 0.1).astype(np.float32)
    empty = np.zeros(0, np.int32)
    codes = np.arange(n_items, dtype=np.int32)
    return CollabIndex.build(
        codes, n_items, item_factors, [], np.zeros(1, np.int64), empty,
        empty.astype(np.float32), 0.05, 20.0,
    )  # fmt: skip


def measure(index: CollabIndex, n_items: int, length: int, calls: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    sessions = rng.integers(0, n_items, (calls, length)).astype(np.int32)
    excluded = rng.integers(0, n_items, (calls, 10)).astype(np.int32)
    index.fold_in(sessions[0], 50, excluded[0])  # warm-up
    out = []
    for sent, exclude in zip(sessions, excluded, strict=True):
        start = time.perf_counter()
        ranked = index.fold_in(sent, 50, exclude)
        out.append(time.perf_counter() - start)
        if len(ranked) != 50:
            raise SystemExit(f"fold-in returned {len(ranked)} items, expected 50")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[20_000, 50_000])
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--lengths", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"<!-- {platform.processor() or platform.machine()}, python {platform.python_version()} -->"
    )
    print("| items | factors | session length | p50 (µs) | p99 (µs) | mean (µs) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n_items in args.items:
        index = index_of(n_items, args.factors, args.seed)
        for length in args.lengths:
            times = np.array(measure(index, n_items, length, args.calls, args.seed)) * 1e6
            p50, p99 = np.percentile(times, [50, 99])
            print(
                f"| {n_items:,} | {args.factors} | {length} | {p50:,.0f} | {p99:,.0f} "
                f"| {times.mean():,.0f} |"
            )


if __name__ == "__main__":
    main()
