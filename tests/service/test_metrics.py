"""GET /metrics: request counters by route template, scope gauges, swaps, failures, access modes."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.store.storage import FileStorage
from recsys_service.metrics import METRICS_KEY, ServiceMetrics
from recsys_service.ratelimit import LIMITER_KEY, RateLimit
from recsys_service.settings import Settings
from tests.service.builders import (
    SIGNING_SPEC,
    api_key,
    item_ids,
    make_settings,
    publish_popularity,
    tamper_artifact,
)
from tests.service.conftest import ClientFactory, serving_of

Labels = frozenset[tuple[str, str]]
ACME_KEY = "acme-metrics-secret"
ADMIN_KEY = "admin-metrics-secret"
KEYS = (api_key("acme-web", "acme", ACME_KEY), api_key("ops", "*", ADMIN_KEY))


def scrape(client: TestClient[Litestar], **headers: str) -> dict[str, dict[Labels, float]]:
    """{sample name: {labels: value}} from one /metrics response."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def labels(**values: str) -> Labels:
    return frozenset(values.items())


def test_requests_are_counted_by_route_template_method_and_status(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        for _ in range(3):
            client.get("/v1/manifests/home")
        client.get("/v1/manifests/nope")
        client.get("/v1/popular?surface=home&k=2")
        client.get("/v1/popular?surface=home&k=0")
        client.get("/not/a/route/12345")
        client.request("BREW", "/v1/popular")
        samples = scrape(client)
    requests = samples["recsys_http_requests_total"]
    manifests = "/v1/manifests/{surface}"
    assert requests[labels(method="GET", route=manifests, status="200")] == 3
    assert requests[labels(method="GET", route=manifests, status="404")] == 1
    assert requests[labels(method="GET", route="/v1/popular", status="200")] == 1
    assert requests[labels(method="GET", route="/v1/popular", status="400")] == 1
    assert requests[labels(method="GET", route="unmatched", status="404")] == 1
    assert requests[labels(method="OTHER", route="unmatched", status="405")] == 1
    # No raw path, query string or unknown method ever becomes a label value.
    values = {v for series in requests for _, v in series}
    assert not any("home" in v or "12345" in v or "BREW" in v or "k=" in v for v in values)
    count = samples["recsys_http_request_duration_seconds_count"]
    assert count[labels(method="GET", route=manifests)] == 4
    buckets = samples["recsys_http_request_duration_seconds_bucket"]
    assert buckets[labels(method="GET", route=manifests, le="+Inf")] == 4


def test_scope_gauges_show_version_age_and_readiness(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    created = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
    good = publish_popularity(storage, "demo", "home", item_ids("demo-", 5), now=created)
    bad = publish_popularity(storage, "demo", "pdp", item_ids("pdp-", 5))
    tamper_artifact(storage, bad)
    with client_for() as client:
        serving_of(client).clock = lambda: created + dt.timedelta(seconds=90.5)
        samples = scrape(client)
    home, pdp = labels(tenant="demo", surface="home"), labels(tenant="demo", surface="pdp")
    assert samples["recsys_manifest_age_seconds"] == {home: 90.5}
    assert samples["recsys_scope_ready"] == {home: 1.0, pdp: 0.0}
    info = labels(
        tenant="demo", surface="home", manifest_version=good.manifest_version, as_of="2026-11-20"
    )
    assert samples["recsys_manifest_info"] == {info: 1.0}


def test_swaps_and_load_failures_are_counted_per_scope_with_a_short_reason(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    publish_popularity(storage, "demo", "home", item_ids("v1-", 5))
    with client_for() as client:
        serving = serving_of(client)
        publish_popularity(storage, "demo", "home", item_ids("v2-", 5))
        serving.refresh()
        serving.refresh()  # unchanged pointer: no swap, no failure
        tampered = publish_popularity(storage, "demo", "home", item_ids("v3-", 5))
        tamper_artifact(storage, tampered)
        serving.refresh()
        serving.refresh()  # every failed attempt counts
        samples = scrape(client)
    home = labels(tenant="demo", surface="home")
    assert samples["recsys_manifest_swaps_total"] == {home: 2}
    failures = samples["recsys_manifest_load_failures_total"]
    assert failures == {labels(tenant="demo", surface="home", reason="ArtifactError"): 2}
    assert samples["recsys_scope_ready"] == {home: 1.0}


def test_missing_signing_keys_count_as_config_errors(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(signing_keys=None, scopes=(("demo", "home"),)) as client:
        failures = scrape(client)["recsys_manifest_load_failures_total"]
    assert failures == {labels(tenant="demo", surface="home", reason="ConfigError"): 1}


def test_rate_limited_requests_are_counted_per_known_tenant(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS, rate_limit=RateLimit(rate=0.001, burst=1)) as client:
        client.app.state[LIMITER_KEY].clock = lambda: 0.0
        for _ in range(3):
            client.get("/v1/popular?surface=home", headers={"X-API-Key": ACME_KEY})
        # An admin key may name any tenant; unknown ones share one series.
        for tenant in ("zz1", "zz2", "zz2"):
            client.get("/v1/manifests/home", headers={"X-API-Key": ADMIN_KEY, "X-Tenant": tenant})
        samples = scrape(client, **{"X-API-Key": ADMIN_KEY})
    assert samples["recsys_rate_limited_requests_total"] == {
        labels(tenant="acme"): 2,
        labels(tenant="_other"): 1,
    }


def test_each_app_counts_only_its_own_requests(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as first, client_for() as second:
        first.get("/healthz")
        first.get("/healthz")
        second.get("/healthz")
        one, two = scrape(first), scrape(second)
    key = labels(method="GET", route="/healthz", status="200")
    assert one["recsys_http_requests_total"][key] == 2
    assert two["recsys_http_requests_total"][key] == 1


def test_no_key_or_secret_appears_in_metrics(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS) as client:
        client.get("/v1/manifests/home", headers={"X-API-Key": ACME_KEY})
        client.get("/v1/manifests/home", headers={"X-API-Key": "wrong-" + ACME_KEY})
        text = client.get("/metrics").text
    assert 'route="/v1/manifests/{surface}",status="401"' in text
    for secret in (ACME_KEY, ADMIN_KEY, SIGNING_SPEC.split(":")[1], "acme-web"):
        assert secret not in text


def test_metrics_can_require_an_admin_key(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for(api_keys=KEYS, metrics_access="admin") as client:
        missing = client.get("/metrics")
        tenant = client.get("/metrics", headers={"X-API-Key": ACME_KEY})
        admin = client.get("/metrics", headers={"X-API-Key": ADMIN_KEY})
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthorized")
    assert (tenant.status_code, tenant.json()["error"]["code"]) == (403, "forbidden")
    assert admin.status_code == 200
    assert "recsys_http_requests_total" in admin.text


def test_metrics_can_be_turned_off(published: FileStorage, client_for: ClientFactory) -> None:
    with client_for(metrics_access="off") as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/healthz").status_code == 200


def test_admin_only_metrics_without_an_admin_key_is_a_config_error(
    published: FileStorage,
) -> None:
    with pytest.raises(ConfigError, match="RECSYS_METRICS=admin needs an admin key"):
        make_settings(published, api_keys=KEYS[:1], metrics_access="admin")


@pytest.mark.parametrize(
    ("value", "access"), [("", "public"), ("yes", None), ("admin", "admin"), (" OFF ", "off")]
)
def test_metrics_access_from_env(
    monkeypatch: pytest.MonkeyPatch, value: str, access: str | None
) -> None:
    monkeypatch.setenv("RECSYS_STORAGE_URL", "file:///nonexistent-recsys-store")
    monkeypatch.setenv("RECSYS_API_KEYS", "ops:*:" + "ab" * 32)
    monkeypatch.setenv("RECSYS_METRICS", value)
    if access is None:
        with pytest.raises(ConfigError, match="RECSYS_METRICS"):
            Settings.from_env()
    else:
        assert Settings.from_env().metrics_access == access
    monkeypatch.delenv("RECSYS_METRICS")
    assert Settings.from_env().metrics_access == "public"


def test_request_series_looked_up_once_still_count_every_request(
    published: FileStorage, client_for: ClientFactory
) -> None:
    with client_for() as client:
        metrics: ServiceMetrics = client.app.state[METRICS_KEY]
        for _ in range(3):
            metrics.observe_request("GET", "/x", 200, 0.0001)
        metrics.observe_request("GET", "/x", 404, 0.3)
        for n in range(50):  # any method token a client sends shares the OTHER series
            metrics.observe_request(f"BREW{n}", "/x", 405, 0.0001)
        samples = scrape(client)
    requests = samples["recsys_http_requests_total"]
    assert requests[labels(method="GET", route="/x", status="200")] == 3
    assert requests[labels(method="GET", route="/x", status="404")] == 1
    assert requests[labels(method="OTHER", route="/x", status="405")] == 50
    count = samples["recsys_http_request_duration_seconds_count"]
    assert count[labels(method="GET", route="/x")] == 4
    buckets = samples["recsys_http_request_duration_seconds_bucket"]
    assert buckets[labels(method="GET", route="/x", le="0.0005")] == 3
    assert len(metrics._children) < 10  # bounded by labels, not by what clients send
