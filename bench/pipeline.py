"""Benchmark one daily run: ingest, canonicalize, validate, every kind, evaluation, publish.

    .venv/bin/python bench/pipeline.py                       # 1 day x 1M events (funnel mix)
    .venv/bin/python bench/pipeline.py --days 28             # 28-day window, 28M events
    .venv/bin/python bench/pipeline.py --event-mix clicks --items 5000 --clusters 50 \\
        --sessions 10 --users 20000 --events-per-day 200000  # issue 18's input shape
    .venv/bin/python bench/pipeline.py --through cli ...     # `recsys materialize`, end to end
    .venv/bin/python bench/pipeline.py --curve 0.2,1,5,28 ...  # growth curve (millions of events)

Synthetic days are generated into a temporary file:// store first (not timed in the total);
earlier days of the window are ingested and canonicalized untimed, as their own runs would have.
`--through stages` (default) runs the partition's steps in this process through the same
functions the Dagster assets and checks call, in the same order (the first kind decodes the
window and the others and the evaluation reuse it after hashing its files, each check reads the
day's file, as in a real run), and prints wall
seconds, CPU seconds (all threads), the RSS at each step's start (what the steps before it left
held) and its peak RSS (VmHWM reset before it, so the generator's memory is not counted; the
total row gives the largest).
`--through cli` runs `recsys materialize` for the last day in a child process (Dagster, its
instance, imports and all) and prints its wall, CPU and peak RSS, then each step's wall time
from the run's Dagster event log. The instance's storage is created before, untimed (printed
apart): every daily run but an instance's very first finds it made.
`--curve` runs this script once per size in a fresh process and prints wall, peak RSS and the
slope per million events; sizes up to 1M are one day, larger ones days of 1M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from pipeline_cli import materialize_through_cli, print_cli_run
from pipeline_curve import print_curve, run_curve

from recsys_algo.contracts.canonical import from_parquet_bytes
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.kinds.kind import KINDS
from recsys_algo.policy import gates
from recsys_algo.policy.publish import PublishOptions
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.synthetic import generator as synthetic
from recsys_algo.stages.artifacts import build_artifact
from recsys_algo.stages.evaluate import evaluate_partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.publish import publish_partition
from recsys_algo.stages.staging import staged_rows
from recsys_algo.stages.window import parquet_rows, prior_rows, read_canonical
from recsys_algo.store import catalog, landing
from recsys_algo.store.storage import Storage, open_storage

TENANT, SURFACE = "bench", "home"
KEY_SPEC = "bench:" + "ab" * 32
FIRST_DAY = dt.date(2026, 11, 1)
# The evaluation's figures printed after a run: its sample sizes, the blend's quality and the
# session MRR's standard error (what a smaller sample costs the gate).
METRICS_SHOWN = (
    "users",
    "session_cases",
    "blend.ndcg@20",
    "implicit.ndcg@20",
    "popularity.ndcg@20",
    "blend.session_mrr@20",
    "blend.session_mrr_se@20",
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start a new peak: writing 5 to clear_refs resets VmHWM (Linux >= 4.0); False elsewhere."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mb(field: str) -> float | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def step_peak_rss_mb() -> float:
    """VmHWM: the peak RSS since the last reset_peak_rss (the process peak without one)."""
    found = _status_mb("VmHWM")
    return peak_rss_mb() if found is None else found


def rss_mb() -> float:
    """VmRSS now: what the process holds (live data and what its allocators keep) at a step's
    start; 0 where /proc is not there."""
    return _status_mb("VmRSS") or 0.0


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Table:
    """Rows of (step, wall s, CPU s, rows, peak RSS MB during the step, RSS MB at its start),
    one Markdown table.

    Each step's peak is its own (VmHWM reset before it): the process peak (ru_maxrss) would
    carry the generator's, which is not part of a run. The RSS at a step's start is what the
    steps before it left held (the window, caches, and what the allocators have not returned)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, int, float]] = []
        self.starts: list[float] = []

    def time(self, step: str, rows: int, fn: Callable[[], Any]) -> Any:
        reset_peak_rss()
        self.starts.append(rss_mb())  # after the reset: the step's peak is never below it
        start, cpu = time.perf_counter(), cpu_seconds()
        out = fn()
        wall, used = time.perf_counter() - start, cpu_seconds() - cpu
        self.rows.append((step, wall, used, rows, step_peak_rss_mb()))
        print(f"  {step}: {wall:.2f} s", file=sys.stderr, flush=True)
        return out

    def total(self, first: int = 1) -> tuple[float, float]:
        timed = self.rows[first:]
        return sum(r[1] for r in timed), sum(r[2] for r in timed)

    def peak(self, first: int = 1) -> float:
        """The largest step peak of the timed steps (the run's peak, without the generator)."""
        return max((r[4] for r in self.rows[first:]), default=0.0)

    def print(self) -> None:
        print("| step | wall (s) | CPU (s) | rows/s | RSS at start (MB) | step peak RSS (MB) |")
        print("|---|---:|---:|---:|---:|---:|")
        for (step, wall, used, rows, rss), start in zip(self.rows, self.starts, strict=True):
            rate = f"{rows / wall:,.0f}" if rows and wall > 0 else ""
            print(f"| {step} | {wall:.2f} | {used:.2f} | {rate} | {start:,.0f} | {rss:,.0f} |")
        wall, used = self.total()
        print(f"| **total (without generate)** | **{wall:.2f}** | {used:.2f} | | | "
              f"{self.peak():,.0f} |")  # fmt: skip


def config_of(args: argparse.Namespace) -> synthetic.SyntheticConfig:
    low = max(1, round(args.sessions * 0.8)) if args.sessions else 3
    high = max(low, round(args.sessions * 1.2)) if args.sessions else 20
    return synthetic.SyntheticConfig(
        events_per_day=args.events_per_day, n_users=args.users, n_items=args.items,
        n_clusters=args.clusters, session_min=low, session_max=high, event_mix=args.event_mix,
    )  # fmt: skip


def window_days(args: argparse.Namespace) -> list[dt.date]:
    return [FIRST_DAY + dt.timedelta(days=i) for i in range(args.days)]


def generate_days(url: str, args: argparse.Namespace) -> None:
    """Every day's landing file of the window into the store at url."""
    storage, config = open_storage(url), config_of(args)
    for day in window_days(args):
        data = synthetic.generate_day(args.seed, day, TENANT, SURFACE, config=config)
        landing.write_landing_file(storage, TENANT, SURFACE, day, "synthetic.jsonl", data)


def prepare(storage: Storage, args: argparse.Namespace, table: Table) -> Partition:
    """Catalog and landing files of every day; every day but the last ingested (untimed)."""
    config, days = config_of(args), window_days(args)
    rows = synthetic.generate_catalog(args.seed, args.items, config.n_clusters)
    catalog.write_catalog(storage, TENANT, rows)

    def generate() -> None:
        # In a child process: the generator's memory (~0.9 GB at 1M events) would otherwise stay
        # in this process's RSS (the allocator keeps it) under every step measured after it.
        spawn = multiprocessing.get_context("spawn")  # polars' threads are running: no fork
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            pool.submit(generate_days, storage.url, args).result()

    table.time("generate (not in total)", args.events_per_day * args.days, generate)
    for day in days[:-1]:
        earlier = Partition(TENANT, SURFACE, day)
        ingest_partition(storage, earlier)
        canonicalize_partition(storage, earlier)
    return Partition(TENANT, SURFACE, days[-1])


def checks(storage: Storage, p: Partition) -> None:
    """The six blocking checks, each reading the day's canonical file as its asset check does."""
    label = p.label

    def day_bytes() -> bytes:
        data = read_canonical(storage, p.tenant, p.surface, p.day)
        assert data is not None
        return data

    staged = staged_rows(storage, p)
    assert staged is not None
    for result in (
        gates.schema(from_parquet_bytes(day_bytes()), label),
        gates.ts_in_day(from_parquet_bytes(day_bytes()), p.day, label),
        gates.min_events(parquet_rows(day_bytes()), 1, label),
        gates.max_events(parquet_rows(day_bytes()), 50_000_000, label),
        gates.duplicate_ratio(staged, parquet_rows(day_bytes()), 0.5, label),
        gates.volume(parquet_rows(day_bytes()), prior_rows(storage, p, 7), 0.2, 5.0, 3, label),
    ):
        assert result.passed, result.message


def through_stages(storage: Storage, p: Partition, args: argparse.Namespace, table: Table) -> dict:
    ingest = table.time(
        "ingest (parse + quarantine)", args.events_per_day, lambda: ingest_partition(storage, p)
    )
    table.time("canonicalize", ingest.rows, lambda: canonicalize_partition(storage, p))
    table.time("validate (6 checks)", ingest.rows, lambda: checks(storage, p))
    params = model_params(args)
    events = args.events_per_day * args.days
    for kind in KINDS:
        table.time(
            f"compute {kind}",
            events,
            lambda k=kind: build_artifact(storage, p, k, params, args.days),
        )
    evaluation = table.time(
        "evaluation (retrain + score)",
        events,
        lambda: evaluate_partition(storage, p, params, args.days),
    )
    keys = parse_signing_keys(KEY_SPEC)
    log = __import__("logging").getLogger("bench")
    table.time(
        "publish (validate, blobs, sign, swap)",
        0,
        lambda: publish_partition(
            storage,
            keys,
            p,
            PublishOptions(),
            params=params,
            window_days=args.days,
            signals_dsn="",
            log=log,
        ),
    )
    return dict(evaluation.metrics)


def model_params(args: argparse.Namespace) -> ModelParams:
    """The run's model parameters: defaults with --model-params' overrides (as RECSYS_MODEL_PARAMS
    gives `recsys materialize`)."""
    try:
        return ModelParams.from_overrides(json.loads(args.model_params))
    except (ValueError, ConfigError) as exc:
        sys.exit(f"--model-params: {exc}")


def describe(args: argparse.Namespace) -> str:
    size = (
        "sizes as in the table"
        if args.curve
        else (f"{args.days} day(s) x {args.events_per_day:,} events")
    )
    return (
        f"{size} ({args.event_mix}), "
        f"{args.users:,} users, {args.items:,} items in {args.clusters} clusters, sessions "
        f"{'~' + str(args.sessions) if args.sessions else '3-20'} events; through {args.through}; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
        + (f"; model parameters {args.model_params}" if args.model_params != "{}" else "")
        + (
            "; PYTHONDONTWRITEBYTECODE is set: modules without a .pyc compile at every start"
            if os.environ.get("PYTHONDONTWRITEBYTECODE")
            else ""
        )
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1, help="window length (days generated)")
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--clusters", type=int, default=20, help="tagged categories")
    parser.add_argument("--sessions", type=int, default=0, help="mean events per session")
    parser.add_argument("--event-mix", choices=("funnel", "clicks"), default="funnel")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--through", choices=("stages", "cli"), default="stages")
    parser.add_argument("--curve", help="comma-separated sizes in millions of events")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of tables")
    parser.add_argument(
        "--model-params",
        default="{}",
        help='JSON overrides by section, as RECSYS_MODEL_PARAMS, e.g. \'{"evaluation": '
        '{"max_users": 1000}}\'',
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    model_params(args)  # a bad value stops here, before any day is generated
    if args.curve:
        print_curve(run_curve(Path(__file__), sys.argv[1:], args.curve), describe(args))
        return
    table = Table()
    with tempfile.TemporaryDirectory(prefix="recsys-bench-") as tmp:
        storage = open_storage(Path(tmp, "store").as_uri())
        p = prepare(storage, args, table)
        if args.through == "stages":
            metrics = through_stages(storage, p, args, table)
            wall, used = table.total()
            peak = table.peak()
        else:
            run = materialize_through_cli(Path(tmp), p, KEY_SPEC, args.days, args.model_params)
            metrics, wall, used, peak = run.metrics, run.wall, run.cpu, run.peak_rss_mb
    if args.json:
        print(json.dumps({"wall": wall, "cpu": used, "peak_rss_mb": peak, "metrics": metrics}))
        return
    print(f"\n{describe(args)}\n")
    if args.through == "cli":
        print_cli_run(run)
    else:
        table.print()
    print("\n| metric | value |\n|---|---:|")
    for name in METRICS_SHOWN:
        if name in metrics:
            print(f"| {name} | {metrics[name]:.4f} |")


if __name__ == "__main__":
    main()
