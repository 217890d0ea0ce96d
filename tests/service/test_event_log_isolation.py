"""One unwritable partition never stops event logging for another scope: its events wait (with
backoff) while every other scope's are written, it cannot take the whole buffer, /readyz (admin)
and /metrics name it, and nothing accepted is lost once it is writable again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.store.storage import FileStorage
from recsys_service.event_log import EventLog, EventLogSettings
from recsys_service.exposure import LandingEvent, epoch_ms
from tests.service.conftest import ClientFactory
from tests.service.landing_reads import landing_events
from tests.service.test_auth import ACME_KEY, ADMIN_KEY, BETA_KEY, KEYS

ACME, BETA, ADMIN = ({"X-API-Key": k} for k in (ACME_KEY, BETA_KEY, ADMIN_KEY))
# A small buffer, flushed only when asked: 40 events, of which a failing scope may hold 10.
SMALL = EventLogSettings(flush_interval=300.0, flush_events=1000, buffer_max=40, scope_max=10)


def clicks(n: int, prefix: str) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC).isoformat()
    events = [{"ts": now, "item_id": f"{prefix}-{i:03d}", "event_type": "click"} for i in range(n)]
    return {"surface": "home", "events": events}


def block_today(storage: FileStorage, tenant: str) -> Path:
    """A file where today's day folder should be: every write there fails (as a permission or
    quota problem would), while the rest of the store is fine."""
    folder = Path(storage.root) / layout.raw_prefix(tenant, "home", dt.datetime.now(dt.UTC).date())
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")
    return folder


def test_a_failing_partition_never_blocks_another_tenants_events(
    published: FileStorage, client_for: ClientFactory
) -> None:
    blocker = block_today(published, "acme")
    with client_for(api_keys=KEYS, event_log=SMALL) as client:
        flush = client.app.state["event_log"].flush
        assert client.post("/v1/events", json=clicks(5, "a"), headers=ACME).status_code == 202
        assert client.post("/v1/events", json=clicks(5, "b"), headers=BETA).status_code == 202
        flush()
        # acme's write failed; beta's, cut in the same flush, was written anyway.
        assert len(landing_events(published, "beta", "home")) == 5
        # acme may hold at most 10 while failing: 5 more fit, then its own requests get 503 ...
        assert client.post("/v1/events", json=clicks(5, "c"), headers=ACME).status_code == 202
        full = client.post("/v1/events", json=clicks(5, "d"), headers=ACME)
        assert full.status_code == 503, full.text
        assert "acme/home" in full.json()["error"]["message"]
        # ... while beta, and beta's exposures, go on: 30 more than the 10 acme holds.
        for n in range(5):
            body = clicks(5, f"e{n}")
            assert client.post("/v1/events", json=body, headers=BETA).status_code == 202
            shown = client.post("/v1/recommend", json={"surface": "home", "k": 1}, headers=BETA)
            assert shown.status_code == 200
        flush()
        ready = client.get("/readyz", headers=ADMIN).json()["event_log"]
        metrics = client.get("/metrics").text
        assert ready["dropped"] == 0
        [failing] = ready["failing"]
        assert (failing["tenant"], failing["surface"], failing["held"]) == ("acme", "home", 10)
        assert failing["last_error"] and failing["failures"] >= 2
        assert 'recsys_event_log_write_failures_total{surface="home",tenant="acme"}' in metrics
        assert 'recsys_event_log_failing_held_events{surface="home",tenant="acme"} 10.0' in metrics
        assert len(landing_events(published, "beta", "home")) == 5 + 25 + 5
        blocker.unlink()  # the operator fixes the folder; shutdown flushes what is held
    acme = landing_events(published, "acme", "home")
    assert sorted(str(e["item_id"]) for e in acme) == sorted(
        [f"a-{i:03d}" for i in range(5)] + [f"c-{i:03d}" for i in range(5)]
    )


class Writes(FileStorage):
    """Counts the landing writes that reach the store."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: list[str] = []

    def write_bytes(self, key: str, data: bytes) -> None:
        self.writes.append(key)
        super().write_bytes(key, data)


def test_a_failing_partition_is_retried_with_a_growing_delay_by_the_periodic_flush(
    tmp_path: Path,
) -> None:
    storage = Writes(tmp_path / "store")
    moment = [1000.0]
    event_log = EventLog(storage, EventLogSettings(flush_interval=5.0), monotonic=lambda: moment[0])
    blocker = block_today(storage, "acme")
    now = epoch_ms(dt.datetime.now(dt.UTC))
    event = LandingEvent(ts=now, tenant="acme", surface="home", event_type="click", item_id="x",
                         event_id="e-1")  # fmt: skip
    assert event_log.add([event]) is None
    tries = []
    for step in (0, 1, 5, 6, 10, 16, 20):  # seconds since the first attempt
        moment[0] = 1000.0 + step
        before = len(storage.writes)
        event_log.flush(due_only=True)
        tries.append(len(storage.writes) - before)
    # Tried at once, then after 5 s, then 10 s more (5, 10, 20, ... up to 5 minutes).
    assert tries == [1, 0, 1, 0, 0, 1, 0]
    [failing] = event_log.status().failing
    assert failing.failures == 3
    blocker.unlink()
    assert event_log.flush() == 1  # a direct flush (shutdown) does not wait
    assert event_log.status().failing == []


def test_a_scope_limit_over_the_buffer_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_EVENTS_BUFFER_MAX", "100")
    monkeypatch.setenv("RECSYS_EVENTS_FLUSH_EVENTS", "10")
    monkeypatch.setenv("RECSYS_EVENTS_SCOPE_MAX", "101")
    with pytest.raises(ConfigError, match="RECSYS_EVENTS_SCOPE_MAX=101 is above"):
        EventLogSettings.from_env()
    monkeypatch.delenv("RECSYS_EVENTS_SCOPE_MAX")
    assert EventLogSettings.from_env().failing_scope_max == 25  # a quarter by default
