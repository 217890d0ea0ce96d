"""Prometheus metrics: one registry per app, request and load counters, scope gauges at scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from recsys_service.event_log import EventLog
from recsys_service.loaded_scope import LoadedScope
from recsys_service.serving_state import ServingState, failure_reason
from recsys_service.times import age_seconds

METRICS_KEY = "metrics"
# Sub-millisecond answers are the norm here; the default buckets start at 5 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
OTHER_TENANT = "_other"


def method_label(method: str) -> str:
    """Clients may send any method token; only the standard ones become label values."""
    return method if method in KNOWN_METHODS else "OTHER"


def failure_label(exc: BaseException) -> str:
    """A short, bounded label: the exception's class name (as raised in the loader child for
    its failures), never its message."""
    return failure_reason(exc)[:64]


class ScopeCollector(Collector):
    """Per-scope gauges computed from the serving snapshot at scrape time (never stale)."""

    def __init__(self, serving: ServingState) -> None:
        self.serving = serving

    def collect(self) -> Iterator[Metric]:
        entries = self.serving.entries
        now = self.serving.clock()
        labels = ["tenant", "surface"]
        age = GaugeMetricFamily(
            "recsys_manifest_age_seconds",
            "Seconds since the served manifest was created (its created_at)",
            labels=labels,
        )
        ready = GaugeMetricFamily(
            "recsys_scope_ready", "1 if a verified manifest is served for the scope", labels=labels
        )
        info = InfoMetricFamily(
            "recsys_manifest",
            "The served manifest version per scope",
            labels=[*labels, "manifest_version", "as_of"],
        )
        for (tenant, surface), entry in sorted(entries.items()):
            ready.add_metric([tenant, surface], 0 if entry.loaded is None else 1)
            if entry.loaded is None:
                continue
            manifest = entry.loaded.manifest
            seconds = age_seconds(manifest.created_at, now)
            if seconds is not None:
                age.add_metric([tenant, surface], seconds)
            info.add_metric([tenant, surface, manifest.manifest_version, manifest.as_of], {})
        yield from (age, ready, info)


class EventLogCollector(Collector):
    """Events held per scope whose landing writes are failing, at scrape time."""

    def __init__(self, event_log: EventLog) -> None:
        self.event_log = event_log

    def collect(self) -> Iterator[Metric]:
        held = GaugeMetricFamily(
            "recsys_event_log_failing_held_events",
            "Events held for a scope whose last landing write failed (other scopes are written)",
            labels=["tenant", "surface"],
        )
        by_scope: dict[tuple[str, str], int] = {}
        for part in self.event_log.status().failing:
            scope = (part.tenant, part.surface)
            by_scope[scope] = by_scope.get(scope, 0) + part.held
        for (tenant, surface), events in sorted(by_scope.items()):
            held.add_metric([tenant, surface], events)
        yield held


class ServiceMetrics:
    """The service's metrics in their own registry, so apps (and tests) never share numbers."""

    def __init__(self, serving: ServingState, event_log: EventLog | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "recsys_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recsys_http_request_duration_seconds",
            "Time from request start to the last response byte, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.swaps = Counter(
            "recsys_manifest_swaps",
            "Verified manifest versions put into service (the first load at start included)",
            ["tenant", "surface"],
            registry=self.registry,
        )
        self.load_failures = Counter(
            "recsys_manifest_load_failures",
            "Failed load attempts by exception class; the last good version keeps serving",
            ["tenant", "surface", "reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "recsys_rate_limited_requests",
            f"Requests refused with 429 by tenant ({OTHER_TENANT}: a tenant with no known scope)",
            ["tenant"],
            registry=self.registry,
        )
        self.event_write_failures = Counter(
            "recsys_event_log_write_failures",
            "Failed landing writes of the event log by scope (its events are kept for a retry)",
            ["tenant", "surface"],
            registry=self.registry,
        )
        self.serving = serving
        self.registry.register(ScopeCollector(serving))
        if event_log is not None:
            self.registry.register(EventLogCollector(event_log))
        # labels() costs ~2 us a request (label checks, a lock, a dict of tuples); a request
        # looks its two children up here instead. Bounded: methods, route templates, statuses.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method_label(method)  # before the lookup: clients choose the method token
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    # ServingState's LoadObserver interface: called from the poller thread.
    def loaded(self, tenant: str, surface: str, loaded: LoadedScope) -> None:
        self.swaps.labels(tenant, surface).inc()

    def load_failed(self, tenant: str, surface: str, exc: BaseException) -> None:
        self.load_failures.labels(tenant, surface, failure_label(exc)).inc()

    def event_write_failed(self, tenant: str, surface: str) -> None:
        self.event_write_failures.labels(tenant, surface).inc()

    def refused(self, tenant: str) -> None:
        # Admin keys may name any tenant: only tenants that have scopes get their own series.
        known = any(t == tenant for t, _ in self.serving.entries)
        self.rate_limited.labels(tenant if known else OTHER_TENANT).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
