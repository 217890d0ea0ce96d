"""The observed app: requests Litestar answers before any route (unknown path, wrong method)
get an id, an access line and a count like routed ones."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from recsys_algo.store.storage import FileStorage
from tests.service.conftest import Captured, ClientFactory


def test_unrouted_and_refused_requests_are_observed_like_routed_ones(
    published: FileStorage, client_for: ClientFactory, captured: Captured
) -> None:
    with client_for() as client:
        unknown = client.get("/not/a/route", headers={"X-Request-ID": "trace-404"})
        refused = client.put("/v1/recommend")
        routed = client.get("/healthz")
        metrics = client.get("/metrics").text
    assert (unknown.status_code, refused.status_code, routed.status_code) == (404, 405, 200)
    assert unknown.headers["X-Request-ID"] == "trace-404"
    lines = captured.access()[:3]
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "unmatched", 404),
        ("PUT", "unmatched", 405),
        ("GET", "/healthz", 200),
    ]
    responses = (unknown, refused, routed)
    assert [line["request_id"] for line in lines] == [r.headers["X-Request-ID"] for r in responses]
    counted = {
        (s.labels["method"], s.labels["route"], s.labels["status"])
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "recsys_http_requests_total"
    }
    assert {("GET", "unmatched", "404"), ("PUT", "unmatched", "405")} <= counted
