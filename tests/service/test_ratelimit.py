"""Per-tenant token buckets: refill math on a fake clock, settings, and 429s from the real app."""

from __future__ import annotations

import threading

import pytest

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.store.storage import FileStorage
from recsys_service.ratelimit import (
    LIMITER_KEY,
    RateLimit,
    RateLimiter,
    parse_rate_limit,
    parse_tenant_limits,
    retry_after_seconds,
)
from recsys_service.settings import Settings
from tests.service.builders import api_key, item_ids
from tests.service.conftest import ClientFactory


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_admits_burst_then_refills_at_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(rate=2.0, burst=3), clock=clock)
    assert [limiter.acquire("acme") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("acme") == pytest.approx(0.5)  # empty: one token takes 1/rate
    clock.now += 0.25  # half a token back
    assert limiter.acquire("acme") == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.acquire("acme") == 0.0
    assert limiter.acquire("acme") == pytest.approx(0.5)


def test_refused_requests_do_not_spend_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(rate=1.0, burst=1), clock=clock)
    assert limiter.acquire("acme") == 0.0
    for _ in range(5):
        assert limiter.acquire("acme") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.acquire("acme") == 0.0


def test_an_idle_bucket_refills_only_up_to_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(rate=10.0, burst=4), clock=clock)
    limiter.acquire("acme")
    clock.now += 3600
    admitted = sum(limiter.acquire("acme") == 0.0 for _ in range(10))
    assert admitted == 4


def test_tenants_have_separate_buckets_and_overrides() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        RateLimit(rate=1.0, burst=1), {"big": RateLimit(rate=100.0, burst=5)}, clock=clock
    )
    assert limiter.acquire("acme") == 0.0
    assert limiter.acquire("acme") > 0
    assert limiter.acquire("beta") == 0.0  # acme's empty bucket is not beta's
    assert sum(limiter.acquire("big") == 0.0 for _ in range(7)) == 5
    assert limiter.acquire("big") == pytest.approx(0.01)


def test_without_a_default_only_named_tenants_are_limited() -> None:
    limiter = RateLimiter(None, {"acme": RateLimit(rate=1.0, burst=1)}, clock=FakeClock())
    assert limiter.enabled
    assert all(limiter.acquire("beta") == 0.0 for _ in range(100))
    assert limiter.acquire("acme") == 0.0
    assert limiter.acquire("acme") > 0
    assert not RateLimiter(None).enabled


def test_idle_buckets_are_pruned_when_the_map_is_full() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(rate=1.0, burst=2), clock=clock, max_buckets=2)
    limiter.acquire("a")
    limiter.acquire("b")
    limiter.acquire("b")
    clock.now += 1.0  # a is full again (2 tokens), b has only 1
    limiter.acquire("c")
    assert set(limiter._buckets) == {"b", "c"}
    assert limiter.acquire("b") == 0.0
    assert limiter.acquire("b") > 0  # b's state survived the prune


def test_concurrent_acquires_never_admit_more_than_the_burst() -> None:
    limiter = RateLimiter(RateLimit(rate=1e-6, burst=500), clock=FakeClock())
    admitted: list[int] = []

    def worker() -> None:
        admitted.append(sum(limiter.acquire("acme") == 0.0 for _ in range(100)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 500


@pytest.mark.parametrize(("wait", "seconds"), [(0.001, 1), (1.0, 1), (1.2, 2), (59.01, 60)])
def test_retry_after_rounds_up_to_whole_seconds(wait: float, seconds: int) -> None:
    assert retry_after_seconds(wait) == seconds


def test_rate_limit_settings_parse() -> None:
    assert parse_rate_limit("50:100") == RateLimit(rate=50.0, burst=100)
    assert parse_rate_limit(" 0.5:1 ") == RateLimit(rate=0.5, burst=1)
    assert parse_tenant_limits("acme=5:10, beta=1:1") == {
        "acme": RateLimit(rate=5.0, burst=10),
        "beta": RateLimit(rate=1.0, burst=1),
    }
    assert parse_tenant_limits("") == {}


@pytest.mark.parametrize("value", ["50", "0:10", "-1:5", "5:0", "5:1.5", "inf:5", "nan:5", "x:y"])
def test_bad_rate_limit_is_a_config_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="RECSYS_RATE_LIMIT="):
        parse_rate_limit(value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("acme:5:10", "entry #1 is malformed"),
        ("Bad=5:10", "entry #1 is malformed"),
        ("acme=5:10,acme=1:1", "appears twice"),
        ("acme=5:10,beta=5", "entry #2"),
    ],
)
def test_bad_tenant_limits_name_the_entry(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_tenant_limits(spec)


def test_settings_from_env_read_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_STORAGE_URL", "file:///nonexistent-recsys-store")
    monkeypatch.setenv("RECSYS_RATE_LIMIT", "20:40")
    monkeypatch.setenv("RECSYS_RATE_LIMIT_TENANTS", "acme=1:2")
    for name in ("RECSYS_API_KEYS", "RECSYS_SCOPES", "RECSYS_WATCH_INTERVAL", "RECSYS_METRICS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.rate_limit == RateLimit(rate=20.0, burst=40)
    assert settings.rate_limit_tenants == {"acme": RateLimit(rate=1.0, burst=2)}
    monkeypatch.delenv("RECSYS_RATE_LIMIT")
    monkeypatch.delenv("RECSYS_RATE_LIMIT_TENANTS")
    assert Settings.from_env().rate_limit is None


ACME_KEY = "acme-secret-key"
BETA_KEY = "beta-secret-key"
KEYS = (api_key("acme-web", "acme", ACME_KEY), api_key("beta-web", "beta", BETA_KEY))
BODY = {"surface": "home", "k": 2}


def test_app_answers_429_with_retry_after_then_serves_after_refill(
    published: FileStorage, client_for: ClientFactory
) -> None:
    clock = FakeClock()
    with client_for(api_keys=KEYS, rate_limit=RateLimit(rate=0.5, burst=2)) as client:
        client.app.state[LIMITER_KEY].clock = clock
        acme = {"X-API-Key": ACME_KEY, "X-Request-ID": "rl-1"}
        assert client.post("/v1/recommend", json=BODY, headers=acme).status_code == 200
        assert client.get("/v1/popular?surface=home", headers=acme).status_code == 200
        refused = client.post("/v1/recommend", json=BODY, headers=acme)
        beta = client.post("/v1/recommend", json=BODY, headers={"X-API-Key": BETA_KEY})
        clock.now += 1.5  # 0.75 of a token: still refused, Retry-After rounds 0.5 s up to 1
        almost = client.post("/v1/recommend", json=BODY, headers=acme)
        clock.now += 0.5
        again = client.post("/v1/recommend", json=BODY, headers=acme)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["X-Request-ID"] == "rl-1"
    assert refused.json() == {
        "error": {
            "code": "too_many_requests",
            "message": "rate limit for tenant 'acme' exceeded; retry in 2 s",
            "request_id": "rl-1",
        }
    }
    assert beta.status_code == 200
    assert (almost.status_code, almost.headers["Retry-After"]) == (429, "1")
    assert again.status_code == 200
    assert [i["item_id"] for i in again.json()["items"]] == item_ids("acme-", 2)


def test_health_readiness_and_metrics_are_never_limited(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(rate_limit=RateLimit(rate=0.001, burst=1)) as client:
        client.app.state[LIMITER_KEY].clock = FakeClock()
        assert client.get("/v1/popular?surface=home").status_code == 200
        assert client.get("/v1/popular?surface=home").status_code == 429
        for path in ("/healthz", "/readyz", "/metrics", "/schema/openapi.json") * 3:
            assert client.get(path).status_code == 200, path


def test_open_mode_limits_the_demo_tenant_and_a_batch_is_one_request(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(rate_limit=RateLimit(rate=0.001, burst=2)) as client:
        limiter = client.app.state[LIMITER_KEY]
        limiter.clock = FakeClock()
        batch = client.post("/v1/recommend/batch", json={"requests": [BODY] * 10})
        assert batch.status_code == 200
        assert client.get("/v1/manifests/home").status_code == 200
        assert (
            client.post("/v1/similar", json={"surface": "home", "item_id": "x"}).status_code == 429
        )
        assert set(limiter._buckets) == {"demo"}


def test_unauthenticated_requests_spend_no_tokens(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS, rate_limit=RateLimit(rate=0.001, burst=1)) as client:
        client.app.state[LIMITER_KEY].clock = FakeClock()
        for _ in range(3):
            assert client.post("/v1/recommend", json=BODY).status_code == 401
        ok = client.post("/v1/recommend", json=BODY, headers={"X-API-Key": ACME_KEY})
    assert ok.status_code == 200
