"""POST /v1/events: outcome events checked by the raw contract, all or nothing, key's tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.event_rules import day_bounds_ms, derive_event_id, parse_line
from recsys_algo.store.storage import FileStorage
from recsys_service.event_log import EventLogSettings
from tests.service.builders import EVENT_DAY, EVENT_TS, api_key
from tests.service.conftest import ClientFactory
from tests.service.landing_reads import canonical_rows, landing_days, landing_events

URL = "/v1/events"
ACME_KEY, ADMIN_KEY = "acme-secret", "admin-secret"
KEYS = (api_key("acme-web", "acme", ACME_KEY), api_key("ops", "*", ADMIN_KEY))
ACME = {"X-API-Key": ACME_KEY}
DAY, TS = EVENT_DAY, EVENT_TS
TS_MS = int(dt.datetime.fromisoformat(TS).timestamp() * 1000)


def click(item: str = "sku-1", **fields: Any) -> dict[str, Any]:
    return {"ts": TS, "item_id": item, "event_type": "click", "surface": "home", **fields}


def test_valid_events_are_accepted_and_land_in_their_utc_day(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    events = [
        click("sku-1", user_id="u1", request_id="r-1", rank=3, event_id="client-1"),
        click("sku-2", event_type="purchase", value=19.5, user_id=7),
        # 23:30 at -05:00 is 04:30 the next day in UTC: that is its partition.
        click("sku-3", ts=f"{DAY}T23:30:00-05:00", event_type="add_to_cart", tenant="acme"),
    ]
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, json={"events": events}, headers=ACME)
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["accepted"] == 3
        assert body["request_id"] == response.headers["X-Request-ID"]
    # The client's id is kept; a missing one is the contract's derived id.
    assert body["event_ids"][0] == "client-1"
    bounds = day_bounds_ms(landing_days(storage, "acme", "home")[0])
    expected = parse_line(
        b'{"ts":"%s","item_id":"sku-2","event_type":"purchase",'
        b'"value":19.5,"user_id":7}' % TS.encode(),
        "acme",
        "home",
        bounds,
    )
    assert body["event_ids"][1] == expected[0] == derive_event_id(expected[1:])
    assert landing_days(storage, "acme", "home") == [DAY, DAY + dt.timedelta(days=1)]
    rows = canonical_rows(storage, "acme", "home").sort("item_id")
    assert rows["event_id"].to_list() == body["event_ids"]
    assert rows["event_type"].to_list() == ["click", "purchase", "add_to_cart"]
    assert rows["user_id"].to_list() == ["u1", "7", None]
    assert rows["request_id"].to_list() == ["r-1", None, None]
    assert rows["rank"].to_list() == [3, None, None]
    assert set(rows["tenant"]) == {"acme"}


def test_replayed_event_ids_are_one_canonical_row(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    batch = {"events": [click("sku-1", event_id="e-1"), click("sku-2")]}
    with client_for(api_keys=KEYS) as client:
        first = client.post(URL, json=batch, headers=ACME)
    with client_for(api_keys=KEYS) as client:  # a retry after a restart
        again = client.post(URL, json=batch, headers=ACME)
    assert first.json()["event_ids"] == again.json()["event_ids"]
    assert len(landing_events(storage, "acme", "home")) == 4
    assert sorted(canonical_rows(storage, "acme", "home")["item_id"]) == ["sku-1", "sku-2"]


def test_body_surface_applies_to_events_without_one(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    events = [{"ts": TS_MS, "item_id": "a", "event_type": "click"}]
    with client_for() as client:  # open mode: tenant demo
        response = client.post(URL, json={"events": events, "surface": "pdp"})
    assert response.status_code == 202
    assert [e["surface"] for e in landing_events(storage, "demo", "pdp")] == ["pdp"]


INVALID = [
    (click(event_type="view"), "event_type_not_accepted"),
    (click(event_type="exposure"), "event_type_not_accepted"),
    ({"ts": TS, "item_id": "a", "surface": "home"}, "event_type_not_accepted"),
    (click(ts=True), "schema"),
    (click(item_id=None), "schema"),
    (click(user_id=["u"]), "schema"),
    (click(ts="yesterday"), "invalid_ts"),
    (click(ts=TS.removesuffix("Z")), "invalid_ts"),
    (click(ts=1.0e30), "invalid_ts"),
    (click(ts="9999-12-31T23:00:00-05:00"), "invalid_ts"),
    (click(ts="0001-01-01T00:00:00+01:00"), "invalid_ts"),
    (click(item_id="a\nb"), "invalid_id"),
    (click(event_id=""), "invalid_id"),
    (click(rank=-1), "invalid_rank"),
    (click(surface=None), "schema"),
    (click(surface="Home/../x"), "invalid_surface"),
    (click(event_type="purchase", value="a lot"), "schema"),
]


def test_invalid_events_are_422_by_index_with_reasons_and_nothing_is_written(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    events = [click()] + [event for event, _ in INVALID] + [click("sku-2")]
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, json={"events": events}, headers=ACME)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "invalid_events"
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    rejected = [(r["index"], r["reason"]) for r in body["rejected"]]
    assert rejected == [(i, reason) for i, (_, reason) in enumerate(INVALID, start=1)]
    assert all(r["detail"] for r in body["rejected"])
    assert landing_days(storage, "acme", "home") == []


def test_every_invalid_event_is_reported(client_for: ClientFactory) -> None:
    events = [click(ts="x"), click(), click(event_type="rating"), click(surface="cart")]
    with client_for() as client:
        response = client.post(URL, json={"events": events, "surface": "home"})
    assert response.status_code == 422
    rejected = [(r["index"], r["reason"]) for r in response.json()["rejected"]]
    assert rejected == [(0, "invalid_ts"), (2, "event_type_not_accepted"), (3, "surface_mismatch")]


def test_an_event_naming_another_tenant_is_403_and_nothing_is_written(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    events = [click(), click(tenant="beta"), click(tenant="acme")]
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, json={"events": events}, headers=ACME)
        named = client.post(URL, json={"events": [click()]}, headers={**ACME, "X-Tenant": "beta"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "[1]" in response.json()["error"]["message"]
    assert named.status_code == 403
    assert landing_days(storage, "acme", "home") == []
    assert landing_days(storage, "beta", "home") == []


def test_admin_key_must_name_the_tenant_and_writes_to_it(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    admin = {"X-API-Key": ADMIN_KEY}
    with client_for(api_keys=KEYS) as client:
        unnamed = client.post(URL, json={"events": [click()]}, headers=admin)
        named = client.post(URL, json={"events": [click()]}, headers={**admin, "X-Tenant": "beta"})
    assert unnamed.status_code == 400
    assert "X-Tenant" in unnamed.json()["error"]["message"]
    assert named.status_code == 202
    assert [e["tenant"] for e in landing_events(storage, "beta", "home")] == ["beta"]


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_missing_or_unknown_key_is_401(
    storage: FileStorage, client_for: ClientFactory, headers: dict[str, str]
) -> None:
    with client_for(api_keys=KEYS) as client:
        response = client.post(URL, json={"events": [click()]}, headers=headers)
    assert response.status_code == 401
    assert landing_days(storage, "acme", "home") == []


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"events": [', 400, "bad_request"),
        (b"[]", 400, "invalid_request"),
        (b'{"events": {}}', 400, "invalid_request"),
        (b'{"events": []}', 400, "invalid_request"),
        (b'{"events": [1]}', 400, "invalid_request"),
        (b'{"events": [{}], "extra": 1}', 400, "invalid_request"),
        (b'{"events": [{}], "surface": "A"}', 400, "invalid_request"),
        (b"", 400, "bad_request"),
    ],
)
def test_a_malformed_body_is_400(
    client_for: ClientFactory, content: bytes, status: int, code: str
) -> None:
    with client_for() as client:
        response = client.post(URL, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_more_than_1000_events_is_400(storage: FileStorage, client_for: ClientFactory) -> None:
    with client_for(max_body_bytes=1 << 20) as client:
        response = client.post(URL, json={"events": [click()] * 1001})
        ok = client.post(URL, json={"events": [click()] * 1000})
    assert response.status_code == 400
    assert "events" in response.json()["error"]["message"]
    assert ok.status_code == 202
    assert len(landing_events(storage, "demo", "home")) == 1000


def test_body_over_the_size_limit_is_413_and_non_json_is_415(client_for: ClientFactory) -> None:
    with client_for(max_body_bytes=2048) as client:
        big = client.post(URL, json={"events": [click()] * 100})
        text = client.post(URL, content=b"x", headers={"Content-Type": "text/plain"})
    assert big.status_code == 413
    assert text.status_code == 415


def test_a_full_buffer_is_503_with_retry_after_and_nothing_is_buffered(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    small = EventLogSettings(flush_interval=300.0, flush_events=2, buffer_max=2)
    with client_for(event_log=small) as client:
        response = client.post(URL, json={"events": [click("a"), click("b"), click("c")]})
        fits = client.post(URL, json={"events": [click("d"), click("e")]})
        status = client.get("/readyz").json()["event_log"]
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "event_buffer_full"
    assert response.headers["Retry-After"] == "300"
    assert fits.status_code == 202
    assert status["buffer_max"] == 2
    assert sorted(e["item_id"] for e in landing_events(storage, "demo", "home")) == ["d", "e"]


def test_openapi_lists_every_status_of_events(client_for: ClientFactory) -> None:
    with client_for() as client:
        operation = client.get("/schema/openapi.json").json()["paths"]["/v1/events"]["post"]
    statuses = {"202", "400", "401", "403", "413", "415", "422", "429", "503"}
    assert set(operation["responses"]) == statuses
    schema_of = {
        s: str(r["content"]["application/json"]["schema"])
        for s, r in operation["responses"].items()
    }
    assert "EventsRejected" in schema_of["422"]
    assert "EventsAccepted" in schema_of["202"]
    assert {p["name"] for p in operation["parameters"]} == {"X-API-Key", "X-Tenant"}


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from([TS, "home", "acme", "click", "purchase", "exposure", TS_MS])
    | st.sampled_from(["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
_event_fields = st.sampled_from(
    ["ts", "item_id", "event_type", "surface", "tenant", "user_id", "session_id",
     "value", "rank", "event_id", "request_id", "other"]
)  # fmt: skip
_events = st.lists(st.dictionaries(_event_fields, _values, max_size=8), min_size=1, max_size=4)


def test_arbitrary_events_never_give_500(client_for: ClientFactory) -> None:
    with client_for(api_keys=KEYS) as client:

        @hyp_settings(max_examples=100, deadline=None)
        @given(events=_events)
        def check(events: list[dict[str, Any]]) -> None:
            raw = msgspec.json.encode({"events": events})
            headers = {**ACME, "Content-Type": "application/json"}
            response = client.post(URL, content=raw, headers=headers)
            assert response.status_code in (202, 400, 403, 422), response.text
            if response.status_code == 422:
                assert len(response.json()["rejected"]) >= 1

        check()


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.mark.parametrize(
    "ts",
    [
        "9999-12-31T12:00:00Z",  # the far future: no partition holds it (issue 17)
        "0001-01-01T00:00:00Z",
        253_402_300_799_999,  # epoch ms of the last instant of 9999
        0,
        "past",  # just over the window's past edge
        "future",  # just over its future edge
    ],
)
def test_an_event_time_outside_the_window_is_400_naming_the_field_and_nothing_is_written(
    storage: FileStorage, client_for: ClientFactory, ts: object
) -> None:
    window = EventLogSettings(max_past_days=7, max_future_minutes=10)
    now = dt.datetime.now(dt.UTC)
    if ts == "past":
        ts = _iso(now - dt.timedelta(days=7, minutes=5))
    elif ts == "future":
        ts = _iso(now + dt.timedelta(minutes=15))
    events = [click("ok"), click("late", ts=ts)]
    with client_for(api_keys=KEYS, event_log=window) as client:
        response = client.post(URL, json={"events": events}, headers=ACME)
        client.app.state["event_log"].flush()
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("events[1].ts: "), error["message"]
    assert "7 days before" in error["message"] and "10 minutes after" in error["message"]
    assert storage.list("raw") == []


def test_event_times_inside_the_window_are_accepted(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    window = EventLogSettings(max_past_days=7, max_future_minutes=10)
    now = dt.datetime.now(dt.UTC)
    edges = [now - dt.timedelta(days=7) + dt.timedelta(minutes=5), now + dt.timedelta(minutes=5)]
    events = [click(f"i{n}", ts=_iso(moment)) for n, moment in enumerate(edges)]
    with client_for(api_keys=KEYS, event_log=window) as client:
        response = client.post(URL, json={"events": events}, headers=ACME)
    assert response.status_code == 202, response.text
    assert sorted(e["item_id"] for e in landing_events(storage, "acme", "home")) == ["i0", "i1"]


def test_the_window_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_EVENTS_MAX_PAST_DAYS", "3")
    monkeypatch.setenv("RECSYS_EVENTS_MAX_FUTURE_MINUTES", "0")
    settings = EventLogSettings.from_env()
    assert (settings.max_past_days, settings.max_future_minutes) == (3, 0)
    monkeypatch.delenv("RECSYS_EVENTS_MAX_PAST_DAYS")
    monkeypatch.delenv("RECSYS_EVENTS_MAX_FUTURE_MINUTES")
    default = EventLogSettings.from_env()
    assert (default.max_past_days, default.max_future_minutes) == (30, 60)
    for name, value in (
        ("RECSYS_EVENTS_MAX_PAST_DAYS", "0"),
        ("RECSYS_EVENTS_MAX_FUTURE_MINUTES", "x"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match=name):
            EventLogSettings.from_env()
        monkeypatch.delenv(name)
