"""Per-tenant token buckets: parse RECSYS_RATE_LIMIT*, and admit or refuse one request in O(1)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import is_valid_name

RATE_LIMIT_ENV = "RECSYS_RATE_LIMIT"
RATE_LIMIT_TENANTS_ENV = "RECSYS_RATE_LIMIT_TENANTS"
LIMITER_KEY = "rate_limiter"
# Buckets are per tenant; admin keys may name any tenant, so idle buckets are pruned past this.
MAX_BUCKETS = 10_000

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`rate` tokens per second refill a bucket of `burst` tokens; one request takes one."""

    rate: float
    burst: int


def parse_rate_limit(value: str, where: str = RATE_LIMIT_ENV) -> RateLimit:
    """'rps:burst', e.g. '50:100' (50 requests/s sustained, bursts of 100)."""
    rate_text, sep, burst_text = value.strip().partition(":")
    try:
        rate, burst = float(rate_text), int(burst_text)
    except ValueError:
        rate, burst = math.nan, 0
    if not sep or not (0 < rate <= 1_000_000 and math.isfinite(rate)) or not 1 <= burst <= 10**7:
        raise ConfigError(
            f"{where}={value[:40]!r} is invalid: use 'rps:burst', rps > 0 (e.g. 50 or 0.5) "
            "and burst an integer >= 1, e.g. '50:100'"
        )
    return RateLimit(rate=rate, burst=burst)


def parse_tenant_limits(spec: str) -> dict[str, RateLimit]:
    """'tenant=rps:burst,...' -> per-tenant overrides of the default limit."""
    limits: dict[str, RateLimit] = {}
    for i, entry in enumerate((e.strip() for e in spec.split(",") if e.strip()), start=1):
        tenant, sep, value = entry.partition("=")
        if not sep or not is_valid_name(tenant):
            raise ConfigError(
                f"{RATE_LIMIT_TENANTS_ENV} entry #{i} is malformed: expected 'tenant=rps:burst' "
                "with tenant matching ^[a-z0-9][a-z0-9_-]{0,62}$"
            )
        if tenant in limits:
            raise ConfigError(f"{RATE_LIMIT_TENANTS_ENV}: tenant {tenant!r} appears twice")
        limits[tenant] = parse_rate_limit(value, f"{RATE_LIMIT_TENANTS_ENV} entry #{i}")
    return limits


class RateLimiter:
    """Token buckets keyed by tenant; `acquire` is O(1) and safe from any thread or task."""

    def __init__(
        self,
        default: RateLimit | None,
        per_tenant: Mapping[str, RateLimit] | None = None,
        clock: Clock = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.default = default
        self.per_tenant = dict(per_tenant or {})
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: dict[str, list[float]] = {}  # tenant -> [tokens, last refill time]
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.default is not None or bool(self.per_tenant)

    def limit_for(self, tenant: str) -> RateLimit | None:
        return self.per_tenant.get(tenant, self.default)

    def acquire(self, tenant: str) -> float:
        """Take one token: 0.0 if admitted, else the seconds until one will be available."""
        limit = self.limit_for(tenant)
        if limit is None:
            return 0.0
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(tenant)
            if bucket is None:
                if len(self._buckets) >= self.max_buckets:
                    self._prune(now)
                bucket = self._buckets[tenant] = [float(limit.burst), now]
            tokens = min(float(limit.burst), bucket[0] + (now - bucket[1]) * limit.rate)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return 0.0
            bucket[0] = tokens
            return (1.0 - tokens) / limit.rate

    def _prune(self, now: float) -> None:
        # A bucket that has refilled to its burst is the same as no bucket: drop those.
        # Amortised: runs only when the map is full, and frees every idle tenant at once.
        full = []
        for tenant, (tokens, last) in self._buckets.items():
            limit = self.limit_for(tenant)
            if limit is None or tokens + (now - last) * limit.rate >= limit.burst:
                full.append(tenant)
        for tenant in full:
            del self._buckets[tenant]


def retry_after_seconds(wait: float) -> int:
    """Retry-After is whole seconds: round up, and never 0 for a refused request."""
    return max(1, math.ceil(wait))
