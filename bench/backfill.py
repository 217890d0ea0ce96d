"""A UI backfill of N days against N `recsys materialize --date` runs of the same days.

The UI arm is what the Dagster UI's "Launch backfill" sends (GraphQL launchPartitionBackfill)
to a real `dagster-webserver` + `dagster-daemon` on the local instance config (dagster.yaml, as
`make dev`); the daemon submits, dequeues and launches the runs (one at a time per scope, the
instance's tag limit). The CLI arm runs `recsys materialize --date D` once per day, each its own
process, as an operator's shell would. Both arms get identical generated data in separate
stores. Prints a markdown table of wall seconds (docs/benchmarks.md).

    .venv/bin/python bench/backfill.py [--days 3] [--events-per-day 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import machine_info

from tests.integration.dagster_procs import prepare_home, start_webserver

REPO = Path(__file__).resolve().parents[1]
RECSYS = Path(sys.executable).parent / "recsys"
TENANT, SURFACE = "bench", "home"
SIGNING_SPEC = "bench:" + "ab" * 32  # a throwaway key for a temporary store
PARTITION_SET = "daily_partition_partition_set"
TERMINAL = {"COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED", "COMPLETED"}
LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  }
}
"""
BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 100) { status startTime endTime } }
  }
}
"""
REPOSITORY = """
query { repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }
"""


def recsys(env: dict[str, str], *args: str) -> float:
    """Run one `recsys` command; its wall seconds."""
    started = time.perf_counter()
    done = subprocess.run([str(RECSYS), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"recsys {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def arm_env(root: Path, name: str, first: dt.date) -> dict[str, str]:
    home = prepare_home(root / f"{name}_home", REPO / "dagster.yaml")
    return {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "RECSYS_STORAGE_URL": (root / f"{name}_store").as_uri(),
        "RECSYS_SIGNING_KEYS": SIGNING_SPEC,
        "RECSYS_FIRST_DAY": first.isoformat(),
        "DAGSTER_HOME": str(home),
    }


def generate(env: dict[str, str], start: dt.date, days: int, events: int) -> None:
    scope = ["--tenant", TENANT, "--surface", SURFACE]
    recsys(env, "generate", *scope, "--start", str(start), "--days", str(days),
           "--events-per-day", str(events))  # fmt: skip


def cli_arm(env: dict[str, str], days: list[dt.date]) -> list[float]:
    scope = ["--tenant", TENANT, "--surface", SURFACE]
    return [recsys(env, "materialize", *scope, "--date", str(day)) for day in days]


def ui_arm(env: dict[str, str], days: list[dt.date]) -> tuple[float, float, list[dict[str, Any]]]:
    """Launch the backfill with the daemon already running (its steady state); seconds from
    the launch until the backfill is complete, and its runs' start and end times."""
    stack = start_webserver(Path(env["DAGSTER_HOME"]), env, timeout=300)
    try:
        stack.start_daemon(timeout=300)
        [node] = stack.graphql(REPOSITORY)["repositoriesOrError"]["nodes"]
        selector = {
            "repositoryLocationName": node["location"]["name"],
            "repositoryName": node["name"],
        }
        partition_set = {"repositorySelector": selector, "partitionSetName": PARTITION_SET}
        params = {
            "selector": partition_set,
            "partitionNames": [f"{day}|{TENANT}.{SURFACE}" for day in days],
        }
        started, launched_at = time.perf_counter(), time.time()
        launched = stack.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            sys.exit(f"backfill not launched: {launched}")
        while True:
            found = stack.graphql(BACKFILL, {"id": launched["backfillId"]})
            backfill = found["partitionBackfillOrError"]
            if backfill["status"] in TERMINAL:
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
        if backfill["status"] != "COMPLETED_SUCCESS":
            sys.exit(f"backfill {backfill['status']}: {backfill['runs']}\n{stack.log_tails()}")
        return wall, launched_at, backfill["runs"]
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--events-per-day", type=int, default=50_000)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    args = parser.parse_args()
    days = [args.start + dt.timedelta(days=i) for i in range(args.days)]
    root = Path(tempfile.mkdtemp(prefix="bench_backfill_"))
    try:
        cli_env, ui_env = (arm_env(root, name, args.start) for name in ("cli", "ui"))
        for env in (cli_env, ui_env):
            generate(env, args.start, args.days, args.events_per_day)
        load_before = os.getloadavg()
        cli = cli_arm(cli_env, days)
        ui_wall, launched_at, runs = ui_arm(ui_env, days)
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    runs = sorted(runs, key=lambda r: r["startTime"])
    run_walls = [r["endTime"] - r["startTime"] for r in runs]
    # Between runs: the daemon's dequeue and the launch of the next run's process.
    gaps = [b["startTime"] - a["endTime"] for a, b in itertools.pairwise(runs)]
    n, events = len(days), f"{args.events_per_day:,}"
    print(f"{n} days x {events} events (synthetic), {machine_info()}")
    print(f"load average before: {', '.join(f'{x:.1f}' for x in load_before)}; after: "
          f"{', '.join(f'{x:.1f}' for x in load_after)}")  # fmt: skip
    print()
    print("| arm | total s | per day s | vs CLI |")
    print("|---|---:|---:|---:|")
    cli_total = sum(cli)
    print(f"| CLI: {n} x `recsys materialize --date` | {cli_total:.1f} | "
          f"{' / '.join(f'{w:.1f}' for w in cli)} | 1.00x |")  # fmt: skip
    per_run = " / ".join(f"{w:.1f}" for w in run_walls)
    print(f"| UI backfill (launch -> COMPLETED_SUCCESS) | {ui_wall:.1f} | "
          f"{per_run} (runs) | {ui_wall / cli_total:.2f}x |")  # fmt: skip
    print()
    between = " / ".join(f"{g:.1f}" for g in gaps)
    print(f"UI: launch to the first run's start {runs[0]['startTime'] - launched_at:.1f} s; "
          f"gaps between runs (dequeue + launch) {between} s")  # fmt: skip


if __name__ == "__main__":
    main()
