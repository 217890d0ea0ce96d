"""Publish -> served under saturation: many swaps in one wrk run, nothing else measured.

    .venv/bin/python bench/swap_latency.py                      # 60 s at 64 connections, every 5 s
    .venv/bin/python bench/swap_latency.py --duration 40 --swap-interval 5

The service and store of bench/service.py (same flags). wrk drives POST /v1/recommend at
--connections while a thread publishes a new manifest version (a new model key: a full verify and
build in a loader child) every --swap-interval seconds; /readyz is polled every 0.5 s. Prints
each version's delay from its publish to the first /readyz answer that serves it, the median and
the largest, the loader children's CPU and the load average, so two builds can be compared back
to back on a busy machine with more samples than bench/service.py's four.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench_store import Publisher
from harness import (
    Sampler,
    add_common_args,
    machine_info,
    recommend_env,
    run_wrk,
    serve,
    store_from_args,
    wait_served,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the swap run")
    parser.add_argument("--swap-interval", type=float, default=5.0)
    args = parser.parse_args()
    store = store_from_args(args)
    with serve(store, args.workers, {}) as server:
        base, env = server.base + "/v1/recommend", recommend_env(store)
        run_wrk("warm-up", base, "recommend.lua", seconds=3, connections=args.connections,
                threads=args.threads, env=env)  # fmt: skip
        publisher = Publisher(store.storage, args.swap_interval)
        cpu_before = server.children_cpu_seconds()
        with Sampler(server, 0.5).running() as sampler, publisher.running():
            run = run_wrk("swaps", base, "recommend.lua", seconds=args.duration,
                          connections=args.connections, threads=args.threads, env=env)  # fmt: skip
            load_ended = time.monotonic()
        last = bool(publisher.versions) and wait_served(server, publisher.versions[-1])
        cpu = server.children_cpu_seconds() - cpu_before
    delays = []
    print("| version | published (s, 0 = load ended) | served after publish (s) |\n|---|---:|---:|")
    for version in publisher.versions:
        published = publisher.published_at[version]
        seen = sampler.first_seen.get(version)
        under_load = seen is not None and seen <= load_ended
        if under_load:
            delays.append(seen - published)
        after = "superseded" if seen is None else f"{seen - published:.1f}"
        mark = "" if under_load else " *"
        print(f"| {version} | {published - load_ended:+.1f} | {after}{mark} |")
    print(
        f"\n{len(delays)} of {len(publisher.versions)} versions served while the load ran (* after "
        f"it, or superseded): median {statistics.median(delays) if delays else float('nan'):.1f} "
        f"s, largest {max(delays, default=float('nan')):.1f} s; recommend {run.rps:,.0f} "
        f"requests/s, {run.errors['status']} non-2xx; loader children {cpu:.1f} CPU s; "
        f"last version {'served' if last else 'NOT served'}; {machine_info()}"
    )
    return 0 if last and not run.errors["status"] and not publisher.errors else 1


if __name__ == "__main__":
    sys.exit(main())
