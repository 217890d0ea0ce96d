"""One key cannot flood the pipeline with surfaces: a tenant may post events for at most
RECSYS_MAX_SURFACES surfaces (its landing folders count), events for a new one past that are
refused with 400 and not written, and another tenant is not affected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.store.storage import FileStorage
from recsys_service.event_log_settings import EventLogSettings
from tests.service.conftest import ClientFactory
from tests.service.test_auth import KEYS
from tests.service.test_event_log_isolation import ACME, BETA

LIMIT3 = EventLogSettings(flush_interval=300.0, max_surfaces=3)


def events_for(surfaces: list[str]) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "events": [
            {"ts": now, "item_id": f"i-{n}", "event_type": "click", "surface": s}
            for n, s in enumerate(surfaces)
        ]
    }


def landed_surfaces(storage: FileStorage, tenant: str) -> list[str]:
    return storage.list_folders(f"raw/{tenant}")


def test_events_for_a_surface_past_the_limit_are_refused_and_not_written(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    storage.write_bytes("raw/acme/old/2026-11-01/a.jsonl", b"{}\n")  # a landing folder counts
    with client_for(api_keys=KEYS, event_log=LIMIT3) as client:
        flush = client.app.state["event_log"].flush
        assert (
            client.post("/v1/events", json=events_for(["home", "pdp"]), headers=ACME).status_code
            == 202
        )
        # Known surfaces never count twice; one more new one is one too many.
        assert (
            client.post("/v1/events", json=events_for(["home", "old"]), headers=ACME).status_code
            == 202
        )
        refused = client.post("/v1/events", json=events_for(["home", "cart"]), headers=ACME)
        assert refused.status_code == 400, refused.text
        message = refused.json()["error"]["message"]
        assert "cart" in message and "RECSYS_MAX_SURFACES" in message and "at most 3" in message
        flood = events_for([f"s{n}" for n in range(500)])
        assert client.post("/v1/events", json=flood, headers=ACME).status_code == 400
        # Another tenant has its own count.
        three = events_for(["a", "b", "c"])
        assert client.post("/v1/events", json=three, headers=BETA).status_code == 202
        flush()
    assert landed_surfaces(storage, "acme") == ["home", "old", "pdp"]
    assert landed_surfaces(storage, "beta") == ["a", "b", "c"]
    # Nothing of the refused requests was written, not even their events for known surfaces.
    home = list((Path(storage.root) / "raw" / "acme" / "home").rglob("*.jsonl"))
    assert sum(len(p.read_bytes().splitlines()) for p in home) == 2


def test_a_restarted_service_counts_the_folders_other_hosts_made(
    storage: FileStorage, client_for: ClientFactory
) -> None:
    for surface in ("a", "b", "c"):
        storage.write_bytes(f"raw/acme/{surface}/2026-11-01/x.jsonl", b"{}\n")
    with client_for(api_keys=KEYS, event_log=LIMIT3) as client:
        assert client.post("/v1/events", json=events_for(["d"]), headers=ACME).status_code == 400
        assert client.post("/v1/events", json=events_for(["a"]), headers=ACME).status_code == 202


@pytest.mark.parametrize("value", ["0", "10001", "many"])
def test_a_bad_surface_limit_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RECSYS_MAX_SURFACES", value)
    with pytest.raises(ConfigError, match="RECSYS_MAX_SURFACES"):
        EventLogSettings.from_env()
