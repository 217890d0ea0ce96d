"""Soak the service: steady recommendation traffic, a new manifest every 30 s, events posted.

    .venv/bin/python bench/soak.py                       # 600 s at 500 requests/s
    .venv/bin/python bench/soak.py --duration 60 --no-events
    .venv/bin/python bench/soak.py --check-exposures     # once the service logs exposures

Same store and server as bench/service.py (bench/harness.py). First an idle run at the same
steady rate (no publishes, no events) gives the idle p99; then the soak: wrk at --rate for
--duration with unique X-Request-IDs, a publisher thread, a thread posting click events to
POST /v1/events, and RSS and served versions sampled every few seconds. Exits 1 unless:
zero 5xx (recommendations and events), zero socket errors, p99 within 2x the idle p99, each
worker's RSS after warm-up within +10 % of its first post-warm-up sample (and no worker
restarted), every publish succeeded and swaps were served, and with --check-exposures every
answered request's exposures are in the landing files exactly once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import msgspec
from bench_store import SURFACE, TENANT, Background, BenchStore, Publisher, log
from harness import (
    API_KEY,
    Sampler,
    WrkResult,
    add_common_args,
    machine_info,
    print_wrk_table,
    recommend_env,
    run_wrk,
    serve,
    store_from_args,
    wait_served,
)

from recsys_algo.contracts import layout

P99_FACTOR = 2.0
RSS_GROWTH = 0.10


@dataclass
class EventPoster(Background):
    """Posts `rate` batches of click events per second until stopped; counts outcomes."""

    base: str
    users: list[str]
    rate: float
    batch: int = 5
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    absent: str | None = None  # why posting stopped: the endpoint is not on this server
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        headers = {"X-API-Key": API_KEY}
        with httpx.Client(base_url=self.base, headers=headers, timeout=10) as client:
            n = 0
            while not self._stop.wait(1 / self.rate):
                events = [self._event(n + i) for i in range(self.batch)]
                n += self.batch
                try:
                    response = client.post(
                        "/v1/events", json={"surface": SURFACE, "events": events}
                    )
                except httpx.HTTPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                if response.status_code in (404, 405) and not self.statuses:
                    self.absent = (
                        f"POST /v1/events answered {response.status_code}: this service has no "
                        "events endpoint yet; the events part of the soak was skipped (pass "
                        "--no-events to skip it on purpose, rerun once the endpoint lands)"
                    )
                    log(self.absent)
                    return
                self.statuses[response.status_code] += 1

    def _event(self, n: int) -> dict[str, object]:
        user = self.users[n % len(self.users)]
        return {
            "ts": int(time.time() * 1000),
            "user_id": user,
            "session_id": f"soak-{user}",
            "item_id": f"soak-item-{n % 997}",
            "event_type": "click",
        }


def exposure_failures(
    store: BenchStore, prefix: str, started: dt.datetime, answered: int, slack: int
) -> list[str]:
    """Each request id of this soak: its exposure events written once each, ranks 0..n-1."""
    storage = store.storage
    ids: Counter[str] = Counter()
    ranks: dict[str, list[int]] = {}
    for day in sorted({started.date(), dt.datetime.now(dt.UTC).date()}):
        for key in storage.list(layout.raw_prefix(TENANT, SURFACE, day)):
            for line in storage.read_bytes(key).splitlines():
                event = msgspec.json.decode(line) if line.strip() else {}
                rid = str(event.get("request_id", ""))
                if event.get("event_type") == "exposure" and rid.startswith(prefix):
                    ids[str(event["event_id"])] += 1
                    ranks.setdefault(rid, []).append(int(event["rank"]))
    failures = [f"exposure {eid} written {n} times" for eid, n in ids.items() if n > 1][:10]
    bad_ranks = [rid for rid, r in ranks.items() if sorted(r) != list(range(len(r)))]
    failures += [f"request {rid}: exposure ranks are not 0..n-1 once each" for rid in bad_ranks][
        :10
    ]
    # wrk counts only answers it received: up to one request per connection was answered by
    # the service (and logged) after wrk stopped counting.
    if not answered <= len(ranks) <= answered + slack:
        failures.append(
            f"{len(ranks):,} requests have exposures; wrk counted {answered:,} answered "
            f"(allowed {answered:,}..{answered + slack:,})"
        )
    log(f"exposures: {sum(ids.values()):,} events for {len(ranks):,} requests checked")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--duration", type=float, default=600.0, help="soak seconds")
    parser.add_argument("--rate", type=float, default=500.0, help="recommend requests/s")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the idle run")
    parser.add_argument("--warmup", type=float, default=60.0, help="soak seconds before RSS base")
    parser.add_argument("--publish-interval", type=float, default=30.0)
    parser.add_argument("--events-rate", type=float, default=20.0, help="event POSTs/s")
    parser.add_argument("--no-events", action="store_true", help="post no events")
    parser.add_argument(
        "--check-exposures", action="store_true",
        help="check every answered request's exposure events are written exactly once",
    )  # fmt: skip
    args = parser.parse_args()
    if not 2 * args.publish_interval <= args.warmup < args.duration:
        # RSS peaks while a swap holds two versions: the baseline must come after swaps.
        raise SystemExit(
            f"--warmup {args.warmup:g} must cover two publishes (>= 2 x --publish-interval "
            f"{args.publish_interval:g}) and be shorter than --duration {args.duration:g}"
        )
    store = store_from_args(args)
    users = store.users_file.read_text().split()
    delay_ms = max(1, round(args.connections * 1000 / args.rate))
    prefix = f"soak{uuid.uuid4().hex[:8]}-"
    started = dt.datetime.now(dt.UTC)

    with serve(store, args.workers) as server:

        def steady(label: str, seconds: float, **env: str) -> WrkResult:
            return run_wrk(
                label, server.base + "/v1/recommend", "recommend.lua", seconds=seconds,
                connections=args.connections, threads=args.threads,
                env=recommend_env(store, BENCH_DELAY_MS=str(delay_ms), BENCH_COUNT_STATUS="1",
                                  **env),
            )  # fmt: skip

        steady("warm-up", min(10.0, args.idle))
        idle = steady(f"idle, {args.rate:g}/s", args.idle)
        publisher = Publisher(store.storage, args.publish_interval)
        poster = EventPoster(server.base, users, args.events_rate)
        with (
            publisher.running(),
            Sampler(server, 5.0).running() as sampler,
            poster.running() if not args.no_events else _nothing(),
        ):
            soak = steady(
                f"soak, {args.rate:g}/s, publish every {args.publish_interval:g} s"
                + ("" if args.no_events else ", events"),
                args.duration, BENCH_REQUEST_ID_PREFIX=prefix,
            )  # fmt: skip
        last_served = bool(publisher.versions) and wait_served(server, publisher.versions[-1])
    # The server is stopped: its shutdown flushed whatever exposures it still held.
    if soak.rps < 0.9 * args.rate:
        # wrk waits BENCH_DELAY_MS after each answer: the rate falls when latency grows.
        log(f"note: the soak ran at {soak.rps:,.0f} requests/s, under --rate {args.rate:g}: the "
            "machine is too slow or too busy for that rate; add --connections")  # fmt: skip
    report(args, idle, soak, publisher, sampler, poster)
    failures = soak_failures(args, idle, soak, publisher, sampler, poster)
    if publisher.versions and not last_served:
        failures.append(f"the last published version {publisher.versions[-1]} was never served")
    if args.check_exposures:
        answered = soak.count(200, 299)
        failures += exposure_failures(store, prefix, started, answered, args.connections)
    for failure in failures:
        log(f"FAILED: {failure}")
    print(f"\n**{'FAILED' if failures else 'PASSED'}**: {len(failures)} check(s) failed")
    return 1 if failures else 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def rss_growth(sampler: Sampler, warmup: float) -> dict[int, tuple[float, float]]:
    """pid -> (first RSS sample after warm-up, largest after it), in MB."""
    after = [rss for t, rss in sampler.rss if t >= warmup]
    if not after:
        return {}
    return {pid: (base, max(s.get(pid, base) for s in after)) for pid, base in after[0].items()}


def rss_by_minute(sampler: Sampler) -> list[str]:
    """'t=1m 612/608' ...: tells a steady climb (a leak) from swap-time peaks."""
    last: dict[int, dict[int, float]] = {}
    for t, rss in sampler.rss:
        last[int(t // 60) + 1] = rss
    return [
        f"{minute}m {'/'.join(f'{mb:,.0f}' for _, mb in sorted(rss.items()))}"
        for minute, rss in sorted(last.items())
    ]


def soak_failures(
    args: argparse.Namespace, idle: WrkResult, soak: WrkResult, publisher: Publisher,
    sampler: Sampler, poster: EventPoster,
) -> list[str]:  # fmt: skip
    failures: list[str] = []
    server_errors = soak.count(500, 599) + sum(n for s, n in poster.statuses.items() if s >= 500)
    if server_errors:
        failures.append(f"{server_errors} responses 5xx (statuses {dict(soak.statuses)}, "
                        f"events {dict(poster.statuses)})")  # fmt: skip
    if soak.socket_errors or idle.socket_errors:
        failures.append(f"socket errors: idle {idle.errors}, soak {soak.errors}")
    soak_p99, idle_p99 = soak.latency_us["p99"] / 1000, idle.latency_us["p99"] / 1000
    if soak_p99 > P99_FACTOR * idle_p99:
        failures.append(f"soak p99 {soak_p99:.2f} ms > {P99_FACTOR:g}x idle {idle_p99:.2f} ms")
    growth = rss_growth(sampler, args.warmup)
    for pid, (base, peak) in growth.items():
        if peak > base * (1 + RSS_GROWTH):
            failures.append(f"worker {pid} RSS grew {base:,.0f} -> {peak:,.0f} MB after warm-up")
    pids = {frozenset(rss) for _, rss in sampler.rss}
    if len(pids) > 1:
        failures.append(f"workers changed during the soak (restarts?): {sorted(map(sorted, pids))}")
    failures += [f"publish: {e}" for e in publisher.errors]
    failures += [f"sampler: {e}" for e in sampler.errors]
    if poster.errors:
        failures.append(f"{len(poster.errors)} event POSTs failed, first: {poster.errors[0]}")
    rejected = {s: n for s, n in poster.statuses.items() if 400 <= s < 500}
    if rejected:
        failures.append(f"event POSTs rejected by status: {rejected}")
    return failures


def report(
    args: argparse.Namespace, idle: WrkResult, soak: WrkResult, publisher: Publisher,
    sampler: Sampler, poster: EventPoster,
) -> None:  # fmt: skip
    print(
        f"\n{args.workers} workers; wrk {args.connections} connections at a steady "
        f"{args.rate:g} requests/s; soak {args.duration:g} s; {machine_info()}\n"
    )
    print_wrk_table([idle, soak])
    print(f"\nStatuses during the soak: {dict(sorted(soak.statuses.items()))}")
    print(
        f"Publishes: {len(publisher.versions)} ok, {len(publisher.errors)} failed; "
        f"{len(sampler.versions & set(publisher.versions))} of them seen served by /readyz "
        "(polled every 5 s)."
    )
    if args.no_events:
        print("Events: not posted (--no-events).")
    elif poster.absent:
        print(f"Events: skipped: {poster.absent}")
    else:
        print(f"Event POSTs by status: {dict(sorted(poster.statuses.items()))}")
    print("\nRSS per worker (MB), last sample of each minute: ", end="")
    print("; ".join(rss_by_minute(sampler)))
    print("\n| worker | RSS after warm-up (MB) | largest after (MB) | growth |")
    print("|---|---:|---:|---:|")
    for i, (base, peak) in enumerate(rss_growth(sampler, args.warmup).values(), start=1):
        print(f"| {i} | {base:,.0f} | {peak:,.0f} | {100 * (peak / base - 1):+.1f} % |")


if __name__ == "__main__":
    sys.exit(main())
