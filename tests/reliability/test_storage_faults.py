"""Storage erroring or slow at each call of a publish: a clear error, nothing half-published."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage
from recsys_service.serving_state import ServingState
from tests.reliability.generations import generation_blobs, publish_generation
from tests.support.builders import signing_keys
from tests.support.faults import FaultyStorage, raise_data_source_error

T_OLD = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
T_NEW = dt.datetime(2026, 11, 21, 7, 0, tzinfo=dt.UTC)
NEW_BLOBS = generation_blobs("new-")


def publish_calls() -> list[tuple[str, str]]:
    """Every storage call one publish on top of an existing one makes (a counted dry run)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        inner = FileStorage(Path(tmp))
        publish_generation(inner, "old-", T_OLD)
        counting = FaultyStorage(inner)
        publish_generation(counting, "new-", T_NEW, blobs=NEW_BLOBS)
        return counting.calls


CALLS = publish_calls()


@pytest.fixture
def served(tmp_path: Path) -> tuple[FileStorage, ServingState, bytes]:
    """Storage serving the old generation, a service state that loaded it, the pointer bytes."""
    storage = FileStorage(tmp_path / "store")
    publish_generation(storage, "old-", T_OLD)
    service = ServingState(storage, signing_keys())
    service.refresh()
    return storage, service, storage.read_bytes(layout.pointer_key("demo", "home"))


def serving_prefix(storage: FileStorage, service: ServingState) -> str:
    found = registry.load_verified(storage, signing_keys(), "demo", "home")
    assert found is not None
    service.refresh()
    entry = service.get("demo", "home")
    assert entry is not None and entry.loaded is not None and entry.last_error is None
    assert entry.loaded.manifest == found[0].manifest
    (prefix,) = {i.split("-")[0] for i in entry.loaded.model.vocab.ids}
    return prefix


def test_dry_run_covers_reads_blobs_history_and_swap() -> None:
    ops = [op for op, _ in CALLS]
    assert ops[0] == "read_with_token" and ops[-1] == "compare_and_swap"
    assert ops.count("write_new") == 5  # four blobs and the history record


@pytest.mark.parametrize(
    "nth", range(1, len(CALLS) + 1), ids=[f"{op}-{n}" for n, (op, _) in enumerate(CALLS, 1)]
)
def test_storage_failing_at_any_call_fails_clearly_and_keeps_the_old_manifest(
    served: tuple[FileStorage, ServingState, bytes], nth: int
) -> None:
    storage, service, pointer = served
    failing = FaultyStorage(storage, nth=nth, fault=raise_data_source_error)
    with pytest.raises(DataSourceError, match="cannot reach S3 endpoint") as raised:
        publish_generation(failing, "new-", T_NEW, blobs=NEW_BLOBS)
    assert raised.value.exit_code == 3
    assert storage.read_bytes(layout.pointer_key("demo", "home")) == pointer
    assert serving_prefix(storage, service) == "old"
    # The retry (storage is back) publishes the same record and serves it.
    retry = publish_generation(storage, "new-", T_NEW, blobs=NEW_BLOBS)
    assert serving_prefix(storage, service) == "new"
    assert (
        registry.read_current(storage, signing_keys(), "demo", "home").manifest.manifest_version
        == retry
    )  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "nth", range(1, len(CALLS) + 1), ids=[f"{op}-{n}" for n, (op, _) in enumerate(CALLS, 1)]
)
def test_lost_answer_after_a_call_leaves_old_or_new_whole(
    served: tuple[FileStorage, ServingState, bytes], nth: int
) -> None:
    """The call took effect but its answer was lost (connection reset after the write)."""
    storage, service, _ = served
    failing = FaultyStorage(storage, nth=nth, when="after", fault=raise_data_source_error)
    with pytest.raises(DataSourceError):
        publish_generation(failing, "new-", T_NEW, blobs=NEW_BLOBS)
    swapped = CALLS[nth - 1][0] == "compare_and_swap"
    assert serving_prefix(storage, service) == ("new" if swapped else "old")
    publish_generation(storage, "new-", T_NEW, blobs=NEW_BLOBS)
    assert serving_prefix(storage, service) == "new"


def test_slow_storage_delays_but_does_not_change_the_outcome(
    served: tuple[FileStorage, ServingState, bytes],
) -> None:
    storage, service, _ = served
    delayed: list[str] = []

    def stall(op: str, key: str) -> None:
        delayed.append(op)
        time.sleep(0.3)

    slow = FaultyStorage(storage, nth=len(CALLS), fault=stall)
    publish_generation(slow, "new-", T_NEW, blobs=NEW_BLOBS)
    assert delayed == ["compare_and_swap"]
    assert serving_prefix(storage, service) == "new"
