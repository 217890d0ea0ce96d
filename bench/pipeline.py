"""Benchmark one daily run: ingest, canonicalize, validate, five kinds, evaluation, publish.

    .venv/bin/python bench/pipeline.py                       # 1 day x 1M events
    .venv/bin/python bench/pipeline.py --days 28             # 28-day window, 28M events

Synthetic data (200k users, 50k items, Zipf popularity, sessions) is generated into a temporary
file:// store first (not timed in the total). Stages run in-process through the same functions
the Dagster assets call, so the numbers exclude only Dagster's own run overhead. Prints one
Markdown table: stage, seconds, rows/s, peak RSS of the process so far.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import from_parquet_bytes
from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.evaluation.evaluate import evaluate_window
from recsys_algo.kinds.registry import SPECS, compute_kind, tables_of
from recsys_algo.policy import gates as validation
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.synthetic import generator as synthetic
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.store import catalog, landing, registry
from recsys_algo.store.storage import open_storage

TENANT, SURFACE = "bench", "home"
KEYS = parse_signing_keys("bench:" + "ab" * 32)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, int]] = []

    def time(self, stage: str, rows: int, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = fn()
        self.rows.append((stage, time.perf_counter() - start, rows))
        print(f"  {stage}: {self.rows[-1][1]:.2f} s", file=sys.stderr, flush=True)
        self.rows[-1] = (*self.rows[-1], peak_rss_mb())  # type: ignore[assignment]
        return out

    def print(self, total_from: int) -> None:
        print("| stage | seconds | rows/s | peak RSS (MB) |")
        print("|---|---:|---:|---:|")
        for stage, seconds, rows, rss in self.rows:  # type: ignore[misc]
            rate = f"{rows / seconds:,.0f}" if rows and seconds > 0 else ""
            print(f"| {stage} | {seconds:.2f} | {rate} | {rss:,.0f} |")
        total = sum(r[1] for r in self.rows[total_from:])
        print(f"| **total (without generate)** | **{total:.2f}** | | {peak_rss_mb():,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1, help="window length (days generated)")
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = synthetic.SyntheticConfig(
        events_per_day=args.events_per_day, n_users=args.users, n_items=args.items
    )
    last = dt.date(2026, 11, 1) + dt.timedelta(days=args.days - 1)
    days = [last - dt.timedelta(days=i) for i in reversed(range(args.days))]
    table = Table()
    with tempfile.TemporaryDirectory(prefix="recsys-bench-") as tmp:
        storage = open_storage(Path(tmp).as_uri())
        rows = synthetic.generate_catalog(args.seed, args.items, config.n_clusters)
        catalog.write_catalog(storage, TENANT, rows)

        def generate() -> None:
            for day in days:
                data = synthetic.generate_day(args.seed, day, TENANT, SURFACE, config=config)
                landing.write_landing_file(storage, TENANT, SURFACE, day, "synthetic.jsonl", data)

        events = args.events_per_day * args.days
        table.time("generate (not in total)", events, generate)
        # Earlier days of the window are ingested once, on their own runs: not timed here.
        for day in days[:-1]:
            p = Partition(TENANT, SURFACE, day)
            ingest_partition(storage, p)
            canonicalize_partition(storage, p)
        p = Partition(TENANT, SURFACE, days[-1])
        ingest = table.time(
            "ingest (parse + quarantine)", args.events_per_day, lambda: ingest_partition(storage, p)
        )
        canon = table.time("canonicalize", ingest.rows, lambda: canonicalize_partition(storage, p))
        read = table.time(
            "read window + catalog", events, lambda: read_model_inputs(storage, p, args.days)
        )
        frame = read.inputs.events

        def validate() -> None:
            label = p.label
            day_frame = from_parquet_bytes(
                storage.read_bytes(layout.canonical_key(TENANT, SURFACE, p.day))
            )
            for result in (
                validation.schema(day_frame, label),
                validation.ts_in_day(day_frame, p.day, label),
                validation.min_events(day_frame.height, 1, label),
                validation.max_events(day_frame.height, 50_000_000, label),
                validation.duplicate_ratio(ingest.rows, canon.rows, 0.5, label),
            ):
                assert result.passed, result.message

        table.time("validate (gates)", canon.rows, validate)
        params = ModelParams()
        blobs = [
            table.time(
                f"compute {kind}",
                frame.height,
                lambda k=kind: compute_kind(k, read.inputs, params.of(k)),
            )
            for kind in SPECS
        ]
        metrics = table.time(
            "evaluation (retrain + score)",
            frame.height,
            lambda: evaluate_window(
                read.inputs, params, tables_of({b.kind: b.data for b in blobs})
            ),
        )
        table.time(
            "publish (validate, blobs, sign, swap)",
            sum(b.rows for b in blobs),
            lambda: registry.publish(
                storage,
                KEYS,
                tenant=TENANT,
                surface=SURFACE,
                as_of=p.day,
                window=Window(start=days[0].isoformat(), end=p.day.isoformat(), days=len(days)),
                blobs=blobs,
                lineage=Lineage(inputs=read.fingerprints, code_version="bench", parameters={}),
                metrics=metrics,
            ),
        )
    cpus = os.cpu_count()
    print(
        f"\n{args.days} day(s) x {args.events_per_day:,} events, {args.users:,} users, "
        f"{args.items:,} items; {platform.processor() or platform.machine()}, {cpus} cores, "
        f"Python {platform.python_version()}\n"
    )
    table.print(total_from=1)
    print()
    print("| metric | value |\n|---|---:|")
    for name in ("users", "blend.ndcg@20", "implicit.ndcg@20", "popularity.ndcg@20"):
        if name in metrics:
            print(f"| {name} | {metrics[name]:.4f} |")


if __name__ == "__main__":
    main()
