"""The event log never writes through a symbolic link: a day folder linked out of the storage
root is refused (the scope is reported failing and its events held), nothing lands outside."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from recsys_algo.contracts import layout
from recsys_algo.store.storage import FileStorage
from tests.service.conftest import ClientFactory
from tests.service.landing_reads import landing_events
from tests.service.test_auth import KEYS
from tests.service.test_event_log_isolation import ACME, ADMIN, BETA, SMALL, clicks


def test_a_linked_day_folder_is_never_written_through(
    published: FileStorage, client_for: ClientFactory, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    today = dt.datetime.now(dt.UTC).date()
    folder = Path(published.root) / layout.raw_prefix("acme", "home", today)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(elsewhere, target_is_directory=True)
    with client_for(api_keys=KEYS, event_log=SMALL) as client:
        assert client.post("/v1/events", json=clicks(3, "a"), headers=ACME).status_code == 202
        assert client.post("/v1/events", json=clicks(3, "b"), headers=BETA).status_code == 202
        client.app.state["event_log"].flush()
        assert list(elsewhere.iterdir()) == []
        assert len(landing_events(published, "beta", "home")) == 3
        [failing] = client.get("/readyz", headers=ADMIN).json()["event_log"]["failing"]
        assert (failing["tenant"], failing["surface"], failing["held"]) == ("acme", "home", 3)
        assert "symbolic link" in failing["last_error"]
        assert str(elsewhere) not in failing["last_error"]
        folder.unlink()  # the operator removes the link; shutdown flushes what is held
    assert len(landing_events(published, "acme", "home")) == 3
    assert list(elsewhere.iterdir()) == []
