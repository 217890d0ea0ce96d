"""The real object store going away mid-publish: a dedicated SeaweedFS stopped, then restarted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.store.storage import Storage, open_storage
from recsys_service.serving_state import ServingState
from tests.integration import seaweed
from tests.reliability.generations import publish_generation
from tests.support.builders import signing_keys
from tests.support.faults import FaultyStorage

BUCKET = "outage"
URL = f"s3://{BUCKET}/root"
T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)


class Outage:
    """A server of our own (the session one is shared and must stay up) that we stop at will."""

    def __init__(self, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.workdir, self.monkeypatch = workdir, monkeypatch
        self.server = seaweed.start(workdir)

    def storage(self) -> Storage:
        for name, value in self.server.env().items():
            self.monkeypatch.setenv(name, value)
        return open_storage(URL)

    def stop(self, op: str, key: str) -> None:
        """A FaultyStorage fault: the server goes down just before this call."""
        seaweed.stop(self.server)

    def restart(self) -> Storage:
        # Same data folder, new ports: what an operator's restart looks like to the client.
        self.server = seaweed.start(self.workdir)
        return self.storage()


@pytest.fixture
def outage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    box = Outage(tmp_path, monkeypatch)
    try:
        box.server.client().make_bucket(BUCKET)
        yield box
    finally:
        seaweed.stop(box.server)


def served(storage: Storage) -> str:
    service = ServingState(storage, signing_keys())
    service.refresh()
    entry = service.get("demo", "home")
    assert entry is not None and entry.loaded is not None, entry
    assert entry.last_error is None
    (prefix,) = {i.split("-")[0] for i in entry.loaded.model.vocab.ids}
    return prefix


def test_server_stopping_mid_publish_fails_clearly_and_a_retry_after_restart_succeeds(
    outage: Outage,
) -> None:
    storage = outage.storage()
    publish_generation(storage, "old-", T0)
    pointer = storage.read_bytes(layout.pointer_key("demo", "home"))
    # Down after the blobs, before the history record: the write never reaches the store.
    dying = FaultyStorage(storage, nth=5, ops=("write_new",), fault=outage.stop)
    with pytest.raises(DataSourceError, match=r"cannot reach S3 endpoint http://127\.0\.0\.1:"):
        publish_generation(dying, "new-", T0 + dt.timedelta(hours=1))
    assert dying.calls[-1][0] == "write_new" and "/manifests/" in dying.calls[-1][1]
    storage = outage.restart()
    assert storage.read_bytes(layout.pointer_key("demo", "home")) == pointer
    assert len(storage.list(layout.history_prefix("demo", "home"))) == 1
    assert served(storage) == "old"
    publish_generation(storage, "new-", T0 + dt.timedelta(hours=1))
    assert served(storage) == "new"
    # Down just before the pointer swap: everything else is written, nothing is served.
    dying = FaultyStorage(storage, nth=1, ops=("compare_and_swap",), fault=outage.stop)
    with pytest.raises(DataSourceError, match="cannot reach S3 endpoint"):
        publish_generation(dying, "newer-", T0 + dt.timedelta(hours=2))
    storage = outage.restart()
    assert served(storage) == "new"
    publish_generation(storage, "newer-", T0 + dt.timedelta(hours=2))
    assert served(storage) == "newer"
