"""Exposure logging: one event per returned item, flushed as new landing files, never duplicated."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import threading
import time
from pathlib import Path

import msgspec
import pytest

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.event_rules import RawEvent
from recsys_algo.store.landing import read_landing_files
from recsys_algo.store.storage import FileStorage
from recsys_service.event_log import EventLog, EventLogSettings
from recsys_service.exposure import Exposure, LandingEvent, exposure_event_id, exposure_lines
from recsys_service.schemas import RecommendedItem
from tests.service.builders import EVENT_TS, item_ids, neighbour_rows, publish_scope
from tests.service.conftest import ClientFactory
from tests.service.landing_reads import canonical_rows, landing_events, landing_files

QUIET = EventLogSettings(flush_interval=300.0, flush_events=100_000, buffer_max=200_000)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def manifest_version(storage: FileStorage) -> str:
    items = item_ids("demo-", 50)
    return publish_scope(
        storage, "demo", "home", items, neighbors=neighbour_rows("demo-")
    ).manifest_version


def test_recommend_logs_one_exposure_per_item_with_rank_request_and_version(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str
) -> None:
    body = {"surface": "home", "k": 4, "user_id": "u-1", "session_id": "s-9"}
    with client_for(event_log=QUIET) as client:
        response = client.post("/v1/recommend", json=body, headers={"X-Request-ID": "req-1"})
        assert response.status_code == 200
        assert landing_files(storage, "demo", "home") == []  # buffered, not yet flushed
    events = landing_events(storage, "demo", "home")
    items = [i["item_id"] for i in response.json()["items"]]
    assert [e["item_id"] for e in events] == items
    assert [e["rank"] for e in events] == [0, 1, 2, 3]
    assert {e["request_id"] for e in events} == {"req-1"}
    assert {e["manifest_version"] for e in events} == {manifest_version}
    assert {(e["user_id"], e["session_id"], e["event_type"]) for e in events} == {
        ("u-1", "s-9", "exposure")
    }
    # One answer id (32 random hex, never the client's id) for the whole answer.
    answer = events[0]["event_id"].split("-")[1]
    assert re.fullmatch("[0-9a-f]{32}", answer), events[0]["event_id"]
    assert [e["event_id"] for e in events] == [
        exposure_event_id(answer, rank, item) for rank, item in enumerate(items)
    ]


def test_batch_logs_each_answered_element_with_its_own_ids(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str
) -> None:
    requests = [
        {"surface": "home", "k": 2},
        {"surface": "nowhere"},
        {"surface": "home", "k": 3, "user_id": "u-2"},
    ]
    with client_for(event_log=QUIET) as client:
        response = client.post(
            "/v1/recommend/batch", json={"requests": requests}, headers={"X-Request-ID": "b-1"}
        )
    assert [r["status"] for r in response.json()["results"]] == [200, 404, 200]
    events = landing_events(storage, "demo", "home")
    assert [(e["rank"], e.get("user_id")) for e in events] == [
        (0, None),
        (1, None),
        (0, "u-2"),
        (1, "u-2"),
        (2, "u-2"),
    ]
    assert {e["request_id"] for e in events} == {"b-1"}
    assert {e["manifest_version"] for e in events} == {manifest_version}
    # The first item of both answers is the same, at the same rank: still two exposures.
    assert events[0]["item_id"] == events[2]["item_id"]
    assert len({e["event_id"] for e in events}) == 5
    assert len(canonical_rows(storage, "demo", "home")) == 5


def test_similar_is_logged_and_popular_is_not(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str
) -> None:
    with client_for(event_log=QUIET) as client:
        similar = client.post("/v1/similar", json={"surface": "home", "item_id": "demo-000"})
        popular = client.get("/v1/popular", params={"surface": "home", "k": 5})
    assert similar.status_code == popular.status_code == 200
    events = landing_events(storage, "demo", "home")
    assert [e["item_id"] for e in events] == [i["item_id"] for i in similar.json()["items"]]
    assert {e["request_id"] for e in events} == {similar.headers["X-Request-ID"]}


def test_failed_requests_log_nothing(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str
) -> None:
    with client_for(event_log=QUIET) as client:
        assert client.post("/v1/recommend", json={"surface": "cart"}).status_code == 404
        assert client.post("/v1/recommend", json={"surface": "home", "k": 0}).status_code == 400
        bad_user = client.post("/v1/recommend", json={"surface": "home", "user_id": "a\x00"})
        assert bad_user.status_code == 400
    assert landing_files(storage, "demo", "home") == []


def test_many_events_flush_before_the_interval(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str
) -> None:
    eager = EventLogSettings(flush_interval=300.0, flush_events=10, buffer_max=1000)
    with client_for(event_log=eager) as client:
        client.post("/v1/recommend", json={"surface": "home", "k": 10})
        deadline = time.monotonic() + 10
        while not landing_files(storage, "demo", "home") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(landing_events(storage, "demo", "home")) == 10  # while still running


def test_a_reused_request_id_never_merges_exposures_of_different_answers(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str
) -> None:
    # A proxy or SDK that sends a constant X-Request-ID: three users, then one user twice.
    headers = {"X-Request-ID": "constant-id"}
    with client_for(event_log=QUIET) as client:
        for user in ("u-1", "u-2", "u-3", "u-3"):
            body = {"surface": "home", "k": 5, "user_id": user}
            assert client.post("/v1/recommend", json=body, headers=headers).status_code == 200
    events = landing_events(storage, "demo", "home")
    assert len(events) == 20
    assert len({e["event_id"] for e in events}) == 20  # one id per answer and item
    rows = canonical_rows(storage, "demo", "home")
    assert rows.height == 20  # ingest keeps every exposure
    assert set(rows["request_id"]) == {"constant-id"}  # the client's id, for joining
    assert sorted(rows.group_by("user_id").len().rows()) == [("u-1", 5), ("u-2", 5), ("u-3", 10)]


class FlakyStorage(FileStorage):
    """A file storage whose writes fail while `down` (storage outage)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.down = False
        self.writes = 0

    def write_bytes(self, key: str, data: bytes) -> None:
        if self.down:
            raise ConnectionError("storage unreachable")
        self.writes += 1
        super().write_bytes(key, data)


def exposure(request_id: str, n: int, surface: str = "home") -> Exposure:
    items = [RecommendedItem(item_id=f"i{k}", score=1.0, source="popularity") for k in range(n)]
    return Exposure(
        tenant="demo", surface=surface, request_id=request_id, manifest_version="v1", items=items
    )


def test_a_failed_flush_keeps_events_and_a_later_flush_writes_them_exactly_once(
    tmp_path: Path,
) -> None:
    storage = FlakyStorage(tmp_path / "store")
    log = EventLog(storage, QUIET, clock=lambda: NOW)
    log.add_exposures([exposure("r1", 3), exposure("r2", 2, surface="pdp")])
    storage.down = True
    assert log.flush() == 0
    status = log.status()
    assert status.held == 5
    assert status.last_error == "ConnectionError: storage unreachable"
    log.add_exposures([exposure("r3", 1)])  # arrives during the outage
    assert log.flush() == 0
    storage.down = False
    assert log.flush() == 6
    assert log.flush() == 0
    status = log.status()
    assert (status.held, status.written, status.last_error) == (0, 6, None)
    home = read_landing_files(storage, "demo", "home", NOW.date())
    pdp = read_landing_files(storage, "demo", "pdp", NOW.date())
    lines = [line for _, data in home + pdp for line in data.splitlines()]
    assert len(lines) == len(set(lines)) == 6
    assert storage.writes == 3  # home and pdp of the first cut, home of the second


def test_a_write_that_fails_midway_is_retried_under_the_same_name(tmp_path: Path) -> None:
    storage = FlakyStorage(tmp_path / "store")
    log = EventLog(storage, QUIET, clock=lambda: NOW)
    log.add_exposures([exposure("r1", 2), exposure("r2", 2, surface="pdp")])
    real_write = storage.write_bytes
    calls: list[str] = []

    def first_ok_then_down(key: str, data: bytes) -> None:
        calls.append(key)
        storage.down = len(calls) > 1
        real_write(key, data)

    storage.write_bytes = first_ok_then_down  # type: ignore[method-assign]
    assert log.flush() == 2
    assert log.status().held == 2
    storage.write_bytes = real_write  # type: ignore[method-assign]
    storage.down = False
    assert log.flush() == 2
    assert calls[1] == storage.list("raw/demo/pdp/")[0]  # the retry reused the chunk's name
    assert len(storage.list("raw/demo/")) == 2


def test_a_write_whose_answer_is_lost_is_retried_onto_the_same_file(tmp_path: Path) -> None:
    # The store wrote the file but the reply never came (a timeout after the PUT landed): the
    # retry must overwrite that file with the same bytes, not add a second copy of the events.
    storage = FlakyStorage(tmp_path / "store")
    log = EventLog(storage, QUIET, clock=lambda: NOW)
    log.add_exposures([exposure("r1", 3)])
    real_write = storage.write_bytes

    def written_then_lost(key: str, data: bytes) -> None:
        real_write(key, data)
        raise TimeoutError("no reply from storage")

    storage.write_bytes = written_then_lost  # type: ignore[method-assign]
    assert log.flush() == 0
    (name,) = storage.list("raw/demo/home/")
    first = storage.read_bytes(name)
    assert log.status().held == 3  # not known to be written, so still held
    storage.write_bytes = real_write  # type: ignore[method-assign]
    assert log.flush() == 3
    assert storage.list("raw/demo/home/") == [name]
    assert storage.read_bytes(name) == first
    assert canonical_rows(storage, "demo", "home").height == 3


def test_a_full_buffer_drops_exposures_counts_them_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = FlakyStorage(tmp_path / "store")
    storage.down = True
    log = EventLog(storage, EventLogSettings(1.0, 2, 4), clock=lambda: NOW)
    with caplog.at_level(logging.ERROR, logger="recsys_service.event_log"):
        log.add_exposures([exposure("r1", 3)])
        log.add_exposures([exposure("r2", 2)])
        log.add_exposures([exposure("r3", 2)])
    status = log.status()
    assert (status.held, status.dropped, status.full) == (3, 4, True)
    assert len([r for r in caplog.records if "event buffer is full" in r.message]) == 1
    storage.down = False
    assert log.flush() == 3
    log.add_exposures([exposure("r4", 1)])
    assert log.status().full is False


def test_shutdown_flushes_everything_accepted(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str
) -> None:
    with client_for(event_log=QUIET) as client:
        for n in range(20):
            client.post("/v1/recommend", json={"surface": "home", "k": 3, "user_id": f"u{n}"})
        client.post(
            "/v1/events",
            json={"events": [{"ts": EVENT_TS, "item_id": "demo-001",
                              "event_type": "click", "surface": "home"}]},
        )  # fmt: skip
        ready = client.get("/readyz").json()["event_log"]
        assert (ready["held"], ready["written"]) == (61, 0)
    events = landing_events(storage, "demo", "home")
    assert len(events) == 61
    assert len({e["event_id"] for e in events}) == 61


def test_event_log_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLUSH_INTERVAL", "FLUSH_EVENTS", "BUFFER_MAX"):
        monkeypatch.delenv(f"RECSYS_EVENTS_{name}", raising=False)
    assert EventLogSettings.from_env() == EventLogSettings(5.0, 10_000, 200_000)
    monkeypatch.setenv("RECSYS_EVENTS_FLUSH_INTERVAL", "2")
    monkeypatch.setenv("RECSYS_EVENTS_FLUSH_EVENTS", "50")
    monkeypatch.setenv("RECSYS_EVENTS_BUFFER_MAX", "100")
    assert EventLogSettings.from_env() == EventLogSettings(2.0, 50, 100)
    for name, value in [
        ("RECSYS_EVENTS_FLUSH_INTERVAL", "0"),
        ("RECSYS_EVENTS_FLUSH_INTERVAL", "1.5"),
        ("RECSYS_EVENTS_FLUSH_EVENTS", "-3"),
        ("RECSYS_EVENTS_BUFFER_MAX", "10"),  # below the flush threshold
    ]:
        with monkeypatch.context() as patched:
            patched.setenv(name, value)
            with pytest.raises(ConfigError, match=name):
                EventLogSettings.from_env()


@pytest.mark.parametrize(("user_id", "session_id"), [(None, None), ("u-1", "s-1"), (None, "s")])
def test_exposure_lines_are_the_landing_events_with_their_ids(
    user_id: str | None, session_id: str | None
) -> None:
    odd = ["plain", 'quote"d', "back\\slash", "ünï-çødé", "tab\tnew\nline", "x" * 256]
    items = [RecommendedItem(item_id=i, score=1.0, source="popularity") for i in odd]
    shown = Exposure(
        tenant="acme",
        surface="home",
        request_id="r-1",
        manifest_version="v1",
        items=items,
        user_id=user_id,
        session_id=session_id,
    )
    expected = [
        LandingEvent(
            ts=1_763_632_800_123,
            tenant="acme",
            surface="home",
            event_type="exposure",
            item_id=item,
            event_id=exposure_event_id(shown.answer_id, rank, item),
            user_id=user_id,
            session_id=session_id,
            request_id="r-1",
            rank=rank,
            manifest_version="v1",
        )
        for rank, item in enumerate(odd)
    ]
    lines = exposure_lines(shown, 1_763_632_800_123)
    assert [msgspec.json.decode(line, type=LandingEvent) for line in lines] == expected
    # Exactly the fields a LandingEvent writes: absent ids are left out, not null.
    assert [set(msgspec.json.decode(line)) for line in lines] == [
        set(msgspec.json.decode(msgspec.json.encode(e))) for e in expected
    ]


def test_exposure_ids_are_the_documented_form_and_each_answer_draws_its_own() -> None:
    item = hashlib.sha256("demo-ü".encode()).hexdigest()[:16]
    assert exposure_event_id("ab" * 16, 3, "demo-ü") == f"x-{'ab' * 16}-3-{item}"
    answers = {exposure("same-request-id", 1).answer_id for _ in range(1000)}
    assert len(answers) == 1000
    assert all(re.fullmatch("[0-9a-f]{32}", a) for a in answers)


def test_landing_event_fields_are_raw_contract_fields() -> None:
    extra = set(LandingEvent.__struct_fields__) - set(RawEvent.__struct_fields__)
    assert extra == {"manifest_version"}  # documented in docs/contracts.md as ingest-ignored


class BlockingStorage(FileStorage):
    """Landing writes wait until released: a slow object store."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.inside = False

    def write_bytes(self, key: str, data: bytes) -> None:
        if key.startswith("raw/"):
            self.inside = True
            self.entered.set()
            self.release.wait(timeout=10)
            self.inside = False
        super().write_bytes(key, data)


def test_a_slow_flush_does_not_block_requests(
    storage: FileStorage, client_for: ClientFactory, manifest_version: str, tmp_path: Path
) -> None:
    slow = BlockingStorage(tmp_path / "slow")
    eager = EventLogSettings(flush_interval=300.0, flush_events=1, buffer_max=1000)
    with client_for(event_log=eager) as client:
        client.app.state["event_log"].storage = slow
        client.post("/v1/recommend", json={"surface": "home", "k": 2})
        assert slow.entered.wait(timeout=10)  # the flush is now stuck inside a write
        answered = client.post("/v1/recommend", json={"surface": "home", "k": 3})
        assert answered.status_code == 200
        assert slow.inside  # answered while the write was still blocked, not after it
        slow.release.set()
    assert len(landing_events(slow, "demo", "home")) == 5  # 2 + 3, shutdown wrote the rest
