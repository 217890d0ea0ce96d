"""Hold records beside the pointer: signed, checked at the swap, set and undone by rollback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import NotFoundError
from recsys_algo.stages.holds import hold_scope, release_scope
from recsys_algo.stages.rollback import rollback_scope
from recsys_algo.store import history, holds, registry
from recsys_algo.store.storage import FileStorage
from tests.support.builders import (
    DAY,
    OTHER_SIGNING_SPEC,
    publish_popularity,
    signing_keys,
    tmp_storage,
)

KEYS = signing_keys()
T, S = "demo", "home"
NOW = dt.datetime(2026, 11, 21, 7, tzinfo=dt.UTC)


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return tmp_storage(tmp_path)


def set_hold(storage: FileStorage, version: str | None = None) -> None:
    holds.write_hold(
        storage, KEYS, T, S, version=version, reason="bad model", by="alice", origin="test", now=NOW
    )


def serving(storage: FileStorage) -> str:
    current = registry.read_current(storage, KEYS, T, S)
    assert current is not None
    return current.manifest.manifest_version


def test_a_hold_round_trips_signed_and_is_audited(storage: FileStorage) -> None:
    set_hold(storage, "20261120T060000000Z-00000000")
    state = holds.read_hold_state(storage, KEYS, T, S)
    assert state.held and state.hold is not None and state.error is None
    assert state.hold.view() == {
        "version": "20261120T060000000Z-00000000",
        "reason": "bad model",
        "by": "alice",
        "at": "2026-11-21T07:00:00.000Z",
        "origin": "test",
    }
    [audit] = storage.list(f"registry/{T}/{S}/audit")
    assert audit.endswith("-hold.json")
    assert msgspec.json.decode(storage.read_bytes(audit))["by"] == "alice"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d | {"reason": "edited"}, "signature does not match"),
        (lambda d: d | {"signature": None}, "hold record is unsigned"),
        (lambda d: d | {"record": "manifest"}, "not a hold record"),
        (lambda d: d | {"surface": "other"}, "holds demo/other, not demo/home"),
    ],
)
def test_a_hold_record_that_does_not_verify_counts_as_held(
    storage: FileStorage, change: object, message: str
) -> None:
    set_hold(storage)
    key = layout.hold_key(T, S)
    document = change(msgspec.json.decode(storage.read_bytes(key)))  # type: ignore[operator]
    if message.startswith("holds"):  # a valid record of another scope, copied here
        holds.write_hold(storage, KEYS, T, "other", version=None, reason="r", by="b", origin="o")
        document = msgspec.json.decode(storage.read_bytes(layout.hold_key(T, "other")))
    storage.write_bytes(key, msgspec.json.encode(document))
    state = holds.read_hold_state(storage, KEYS, T, S)
    assert state.held and state.hold is None
    assert message in (state.error or "")


def test_a_record_signed_with_an_unknown_key_counts_as_held(storage: FileStorage) -> None:
    holds.write_hold(
        storage, signing_keys(OTHER_SIGNING_SPEC), T, S, version=None, reason="r", by="b",
        origin="o",
    )  # fmt: skip
    assert "unknown key id" in (holds.read_hold_state(storage, KEYS, T, S).error or "")


def test_publish_checks_the_hold_at_the_swap(storage: FileStorage) -> None:
    first = publish_popularity(storage, KEYS, as_of=DAY).manifest
    set_hold(storage, first.manifest_version)
    outcome = publish_popularity(storage, KEYS, as_of=DAY + dt.timedelta(days=1))
    assert not outcome.swapped and outcome.hold.held
    assert outcome.message.startswith("held: published to history, not served (held since ")
    assert serving(storage) == first.manifest_version
    assert history.read_version(storage, KEYS, T, S, outcome.manifest.manifest_version)


def test_rollback_holds_at_the_version_it_serves_and_a_failed_one_restores_the_hold(
    storage: FileStorage,
) -> None:
    first = publish_popularity(storage, KEYS, as_of=DAY).manifest
    publish_popularity(storage, KEYS, as_of=DAY + dt.timedelta(days=1))
    outcome = rollback_scope(storage, KEYS, T, S, None, reason="bad", hold_by="carol")
    assert outcome.hold is not None and outcome.hold.version == first.manifest_version
    held = storage.read_bytes(layout.hold_key(T, S))
    with pytest.raises(NotFoundError):
        rollback_scope(
            storage, KEYS, T, S, "20990101T000000000Z-deadbeef", reason="typo", hold_by="carol"
        )
    assert storage.read_bytes(layout.hold_key(T, S)) == held  # as it was, byte for byte
    assert serving(storage) == first.manifest_version


def test_hold_keeps_an_existing_record_and_release_removes_it(storage: FileStorage) -> None:
    version = publish_popularity(storage, KEYS, as_of=DAY).manifest.manifest_version
    created = hold_scope(storage, KEYS, T, S, reason="freeze", by="dave", origin="test")
    assert created.created and created.hold.version == version
    again = hold_scope(storage, KEYS, T, S, reason="other words", by="erin", origin="test")
    assert not again.created and again.hold.reason == "freeze"
    released = release_scope(storage, KEYS, T, S, None, reason="done", by="dave", origin="test")
    assert released.released.hold is not None and released.rolled is None
    assert not holds.read_hold_state(storage, KEYS, T, S).held
    with pytest.raises(NotFoundError, match="demo/home is not held: nothing to release"):
        release_scope(storage, KEYS, T, S, None, reason="again", by="dave", origin="test")
