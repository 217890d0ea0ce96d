"""A warm host re-verifies what it prepared: a blob that changed after its version was
prepared is caught by a cheap check when a pointer leads to that version again (a restart, a
rollback) and by the periodic full digest check while it is served; either way the version is
refused exactly as a fresh host refuses it, and nothing built from other bytes is served."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recsys_algo.store.storage import FileStorage
from recsys_service.process_loader import ProcessLoader
from recsys_service.serving_state import ServingState
from tests.service.builders import item_ids, publish_popularity, signing_keys, tamper_artifact
from tests.service.conftest import ClientFactory


def _state(storage: FileStorage, directory: Path) -> ServingState:
    return ServingState(storage, signing_keys(), loader=ProcessLoader(directory))


def _entry(state: ServingState) -> tuple[str | None, str | None]:
    entry = state.get("acme", "home")
    assert entry is not None
    return (entry.loaded.manifest.manifest_version if entry.loaded else None), entry.last_error


def test_a_warm_restart_refuses_a_version_whose_blob_changed_since_it_was_prepared(
    storage: FileStorage, tmp_path: Path
) -> None:
    manifest = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    _state(storage, tmp_path / "prep").refresh()  # the version is prepared on this host
    tamper_artifact(storage, manifest)
    fresh = _state(storage, tmp_path / "fresh")
    warm = _state(storage, tmp_path / "prep")
    fresh.refresh()
    warm.refresh()
    served, error = _entry(warm)
    assert served is None and error is not None
    assert (served, error) == _entry(fresh)  # exactly what a fresh host does
    assert error.startswith("ArtifactError: ") and "does not match the manifest" in error


def test_the_periodic_check_finds_a_changed_blob_of_the_served_version(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state = _state(storage, tmp_path / "prep")
    state.refresh()
    assert state.reverify() == []  # nothing changed: nothing found, still served
    assert _entry(state) == (manifest.manifest_version, None)
    tamper_artifact(storage, manifest)
    [found] = state.reverify()
    assert "popularity" in found and "sha256" in found
    served, error = _entry(state)
    assert served is None and error is not None and "sha256" in error
    state.refresh()  # the pointer still names it: refused at every poll, like a fresh host
    served, error = _entry(state)
    assert served is None and error is not None and error.startswith("ArtifactError: ")


def test_the_service_runs_the_check_on_its_timer_and_stops_serving_the_version(
    storage: FileStorage, client_for: ClientFactory, tmp_path: Path
) -> None:
    manifest = publish_popularity(storage, "demo", "home", item_ids("d", 5))
    settings = {"loader": "process", "prepared_dir": tmp_path / "prep", "reverify_interval": 0.2}
    with client_for(**settings) as client:
        body = {"surface": "home", "k": 3}
        assert client.post("/v1/recommend", json=body).status_code == 200
        tamper_artifact(storage, manifest)
        deadline = time.monotonic() + 30
        while (got := client.post("/v1/recommend", json=body)).status_code == 200:
            assert time.monotonic() < deadline, "the timer never found the changed blob"
            time.sleep(0.1)
        assert got.status_code == 503, got.text
        assert client.get("/readyz").status_code == 503
