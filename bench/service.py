"""Benchmark the service with wrk: /v1/recommend for known users, the ceiling, hot swaps.

    .venv/bin/python bench/service.py                  # 50k users x 20k items, 2 workers, 20 s
    .venv/bin/python bench/service.py --duration 10    # shorter runs, same store
    .venv/bin/python bench/service.py --server granian # the service and the bare app on granian
    .venv/bin/python bench/service.py --exposures off  # exposure logging stubbed out (a bound)
    .venv/bin/python bench/service.py --bare-writes joined  # the bare app with one write a response

The store (synthetic events -> every kind -> one signed manifest) is built once into --store
and reused by later runs. The service runs as `python -m recsys_service --workers N` with API
keys on loopback. wrk runs follow a warm-up: POST /v1/recommend rotating over every known user
(users with an `implicit` row) at each --connections count, GET /healthz of the same app
(routing, the service's middleware and access log, msgspec, uvicorn), /v1/recommend again while
a thread publishes a new manifest version every --swap-interval seconds, and GET /plain of a bare
Litestar app (bench/plain_app.py) on the same uvicorn and workers at each --connections count
(the machine's ceiling). Prints Markdown tables: endpoints, RSS and PSS per worker, the loader
children's CPU and memory, targets.
Exits 1 when the swap run had non-2xx responses, socket errors or failed publishes, or when no
swap was seen being served; speed targets are reported, not enforced (they depend on the box).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench_store import Publisher, log
from harness import (
    SERVERS,
    Sampler,
    WrkResult,
    add_common_args,
    machine_info,
    print_wrk_table,
    recommend_env,
    run_wrk,
    serve,
    serve_plain,
    store_from_args,
    wait_served,
)

TARGET_RPS = 10_000
TARGET_P99_MS = 10.0
TARGET_RSS_MB = 500.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument(
        "--connections", default="16,64",
        help="wrk connections, comma-separated: the recommend and plain runs are repeated for "
        "each (a closed loop: latency ~ connections / throughput); the rest use the largest",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of wrk, not reported")
    parser.add_argument("--swap-interval", type=float, default=5.0)
    parser.add_argument(
        "--loader-nice", type=int, default=None,
        help="RECSYS_LOADER_NICE for the service (default: the service's, 0)",
    )  # fmt: skip
    parser.add_argument(
        "--server", choices=SERVERS, default="uvicorn",
        help="ASGI server of both the service and the bare app (the service ships on uvicorn)",
    )  # fmt: skip
    parser.add_argument(
        "--exposures", choices=("on", "off"), default="on",
        help="off: exposure logging stubbed out (bench/service_no_exposures.py), the upper bound "
        "of moving it off the request path",
    )  # fmt: skip
    parser.add_argument(
        "--bare-writes", choices=("uvicorn", "joined"), default="uvicorn",
        help="joined: the bare app on the service's protocol, one socket write per response "
        "(uvicorn's writes head and body apart), to read the service against that ceiling too",
    )  # fmt: skip
    args = parser.parse_args()
    store = store_from_args(args)
    sweep = sorted({int(c) for c in args.connections.split(",")})
    most = sweep[-1]

    def wrk(label: str, path: str, script: str, seconds: float, conns: int = most) -> WrkResult:
        return run_wrk(
            label, server.base + path, script, seconds=seconds, connections=conns,
            threads=args.threads, env=recommend_env(store),
        )  # fmt: skip

    joined = args.bare_writes == "joined"
    extra = {} if args.loader_nice is None else {"RECSYS_LOADER_NICE": str(args.loader_nice)}
    with serve(store, args.workers, extra, args.server, args.exposures == "on") as server:
        wrk("warm-up", "/v1/recommend", "recommend.lua", args.warmup)
        recommends = {
            c: wrk(
                f"POST /v1/recommend (known users), {c} connections",
                "/v1/recommend",
                "recommend.lua",
                args.duration,
                c,
            )
            for c in sweep
        }
        rss_idle, pss_idle = server.rss_mb(), server.pss_mb()
        ceiling = wrk("GET /healthz (ceiling)", "/healthz", "get.lua", args.duration)
        publisher = Publisher(store.storage, args.swap_interval)
        loader_cpu_before = server.children_cpu_seconds()
        with Sampler(server, 0.5).running() as sampler:
            with publisher.running():
                swapping = wrk(
                    f"POST /v1/recommend, new manifest every {args.swap_interval:g} s",
                    "/v1/recommend", "recommend.lua", args.duration,
                )  # fmt: skip
            load_ended = time.monotonic()
            # Still sampling: versions first served after the load are timed too.
            last_served = bool(publisher.versions) and wait_served(server, publisher.versions[-1])
        rss_end = server.rss_mb()
        loader_cpu = server.children_cpu_seconds() - loader_cpu_before
    # The machine's ceiling: a plain Litestar endpoint on the same server, workers and wrk.
    with serve_plain(args.workers, server=args.server, joined_writes=joined) as base:
        plains = {
            c: run_wrk(
                f"GET /plain (plain Litestar app, 20 items{', joined writes' if joined else ''}), "
                f"{c} connections",
                base + "/plain",
                "get.lua",
                seconds=args.duration,
                connections=c,
                threads=args.threads,
            )
            for c in sweep
        }
    rss_peak = {pid: max(s.get(pid, 0.0) for _, s in sampler.rss) for pid in rss_end}

    print(
        f"\n{store.users:,} known users x {store.items:,} items; {args.server}, {args.workers} "
        f"workers, exposures {args.exposures}; wrk "
        f"{args.connections} connections, {args.threads} threads, {args.duration:g} s per run; "
        f"{machine_info()}\n"
    )
    print_wrk_table([*(r for c in sweep for r in (recommends[c], plains[c])), ceiling, swapping])
    print(
        "\n| worker | RSS after recommend run (MB) | PSS then (MB) | peak RSS during swaps (MB) "
        "| RSS at end (MB) |"
    )
    print("|---|---:|---:|---:|---:|")
    for i, pid in enumerate(sorted(rss_end), start=1):
        print(
            f"| {i} | {rss_idle.get(pid, 0):,.0f} | {pss_idle.get(pid, 0):,.0f} "
            f"| {rss_peak[pid]:,.0f} | {rss_end[pid]:,.0f} |"
        )
    print(
        f"\nLoader children (recsys_service.loader_child, one per new version and host): "
        f"{loader_cpu:.1f} s CPU during the swap run, peak RSS {sampler.loader_rss_peak:,.0f} MB "
        "(sampled every 0.5 s)."
    )
    swaps_seen = len(sampler.versions & set(publisher.versions))
    for version in publisher.versions:
        published = publisher.published_at[version] - load_ended
        seen = sampler.first_seen.get(version)
        when = "never (superseded)" if seen is None else f"{seen - load_ended:+.1f} s"
        print(f"- {version}: published {published:+.1f} s, first served {when} (0 = load ended)")
    print(
        f"\nSwap run: {len(publisher.versions)} versions published, {swaps_seen} of them seen "
        f"served by /readyz during the run (polled every 0.5 s), the last one "
        f"{'served' if last_served else '**not served**'} after it; "
        f"{len(publisher.errors)} publish errors."
    )
    failures = swap_failures(swapping, publisher, last_served)
    rss_max = max([*rss_end.values(), *rss_peak.values()])
    print("\n| target | measured | met |\n|---|---:|---|")
    speed = []
    for c in sweep:
        run, p99 = recommends[c], recommends[c].latency_us["p99"] / 1000
        speed += [
            (f"/v1/recommend >= {TARGET_RPS:,} requests/s ({c} connections)", f"{run.rps:,.0f}",
             run.rps >= TARGET_RPS),
            (f"/v1/recommend p99 < {TARGET_P99_MS:g} ms ({c} connections)", f"{p99:.2f}",
             p99 < TARGET_P99_MS),
        ]  # fmt: skip
    for name, measured, met in (
        *speed,
        (f"RSS per worker < {TARGET_RSS_MB:g} MB", f"{rss_max:,.0f}", rss_max < TARGET_RSS_MB),
        ("swaps under load: zero non-2xx, socket errors", f"{swapping.errors['status']}, "
         f"{swapping.socket_errors}", not failures),
    ):  # fmt: skip
        print(f"| {name} | {measured} | {'yes' if met else '**no**'} |")
    for failure in failures:
        log(f"FAILED: {failure}")
    return 1 if failures else 0


def swap_failures(run: WrkResult, publisher: Publisher, last_served: bool) -> list[str]:
    failures = [f"publish: {e}" for e in publisher.errors]
    if run.errors["status"]:
        failures.append(f"{run.errors['status']} responses >= 400 during swaps")
    if run.socket_errors:
        failures.append(f"{run.socket_errors} socket errors during swaps: {run.errors}")
    if not publisher.versions:
        failures.append("nothing was published during the run: make --duration longer")
    elif not last_served:
        failures.append(f"the last published version {publisher.versions[-1]} was never served")
    return failures


if __name__ == "__main__":
    sys.exit(main())
