"""Where a loader child's CPU goes for one version: its build run in-process, timed and profiled.

    .venv/bin/python bench/profile_loader.py                  # the bench store of bench/service.py
    .venv/bin/python bench/profile_loader.py --top 30 --repeat 3

Runs recsys_service.loader_child.prepare (what `python -m recsys_service.loader_child` does
after its imports) on the bench store's current version, into a fresh private directory, once
unprofiled (CPU seconds per run, `--repeat` times) and once under cProfile (the functions with
the most cumulative time). Imports are done before the clock starts, as a spare child's are.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench_store import SIGNING_SPEC, SURFACE, TENANT
from harness import add_common_args, machine_info, store_from_args

from recsys_service import loader_child
from recsys_service.process_loader import private_directory


def build(request: dict[str, object]) -> None:
    """Both steps of a child: the model's file (served from here on), then the plain answers."""
    _, write_plain = loader_child.prepare(request)
    write_plain()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--repeat", type=int, default=3, help="unprofiled runs timed")
    parser.add_argument("--top", type=int, default=25, help="functions printed")
    args = parser.parse_args()
    store = store_from_args(args)
    loader_child.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        directory = private_directory(Path(tmp) / "prepared")
        request = {
            "source": {"kind": "storage", "url": store.storage.url},
            "keys": SIGNING_SPEC,
            "tenant": TENANT,
            "surface": SURFACE,
            "directory": str(directory),
        }
        # The first run profiled: a child builds one version, so its first-call costs count.
        profile = cProfile.Profile()
        profile.runcall(build, request)
        print(
            "| run | model file: wall (s) | CPU (s) | then plain answers: wall (s) | CPU (s) |\n"
            "|---:|---:|---:|---:|---:|"
        )
        for run in range(1, args.repeat + 1):
            wall, cpu = time.perf_counter(), time.process_time()
            _, write_plain = loader_child.prepare(request)
            model = time.perf_counter() - wall, time.process_time() - cpu
            wall, cpu = time.perf_counter(), time.process_time()
            write_plain()
            plain = time.perf_counter() - wall, time.process_time() - cpu
            print(f"| {run} | {model[0]:.2f} | {model[1]:.2f} | {plain[0]:.2f} | {plain[1]:.2f} |")
    print(f"\n{store.users:,} known users x {store.items:,} items; {machine_info()}\n")
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
