from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import msgspec
import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import (
    ArtifactError,
    ConcurrentPublishError,
    ConfigError,
    NotFoundError,
    SignatureError,
)
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.store import history, pointer, registry
from recsys_algo.store.rollback import rollback
from recsys_algo.store.storage import FileStorage
from tests.support.builders import (
    DAY,
    OTHER_SIGNING_SPEC,
    popularity_blob,
    publish_popularity,
    signing_keys,
)

REPO = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def publish(storage: FileStorage, minutes: int = 0, **kwargs: Any) -> Manifest:
    outcome = publish_popularity(storage, now=at(minutes), **kwargs)
    assert outcome.swapped, outcome.message
    return outcome.manifest


def serving(storage: FileStorage, keys: SigningKeys) -> str:
    current = registry.read_current(storage, keys, "demo", "home")
    assert current is not None
    return current.manifest.manifest_version


def pointer_bytes(storage: FileStorage) -> bytes:
    return storage.read_bytes(layout.pointer_key("demo", "home"))


def history_path(storage: FileStorage, version: str) -> Path:
    return storage.root / layout.history_key("demo", "home", version)


def audit_records(storage: FileStorage) -> list[dict[str, Any]]:
    keys = storage.list("registry/demo/home/audit")
    return [msgspec.json.decode(storage.read_bytes(k)) for k in keys]


def tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


class RecordingStorage(FileStorage):
    """Records every mutating call in order."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[tuple[str, str]] = []

    def write_new(self, key: str, data: bytes) -> None:
        self.calls.append(("write_new", key))
        super().write_new(key, data)

    def write_bytes(self, key: str, data: bytes) -> None:
        self.calls.append(("write_bytes", key))
        super().write_bytes(key, data)

    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        self.calls.append(("compare_and_swap", key))
        return super().compare_and_swap(key, data, expected_token)


# --- publish -----------------------------------------------------------------------------------


def test_first_publish_serves_a_verified_manifest(storage: FileStorage, keys: SigningKeys) -> None:
    outcome = publish_popularity(storage, now=T0)
    manifest = outcome.manifest
    assert outcome.swapped
    assert outcome.message == f"serving {manifest.manifest_version}"
    assert manifest.previous_version is None
    assert manifest.created_at == "2026-11-21T06:00:00.000Z"
    assert manifest.manifest_version.startswith("20261121T060000000Z-")
    loaded = registry.load_verified(storage, keys, "demo", "home")
    assert loaded is not None
    current, blobs = loaded
    assert current.manifest == manifest
    assert list(blobs) == ["popularity"]
    assert storage.read_bytes(layout.history_key("demo", "home", manifest.manifest_version)) == (
        current.raw
    )


def test_publish_writes_blobs_then_history_then_swaps_the_pointer(tmp_path: Path) -> None:
    storage = RecordingStorage(tmp_path / "store")
    manifest = publish_popularity(storage, now=T0).manifest
    ref = manifest.artifacts["popularity"]
    assert storage.calls == [
        ("write_new", ref.uri),
        ("write_new", layout.history_key("demo", "home", manifest.manifest_version)),
        ("compare_and_swap", layout.pointer_key("demo", "home")),
        ("write_bytes", layout.pointer_key("demo", "home")),
    ]


def test_artifact_ref_records_location_digest_size_and_rows(storage: FileStorage) -> None:
    manifest = publish(storage, items=["a", "b", "c", "d"])
    ref = manifest.artifacts["popularity"]
    data = storage.read_bytes(ref.uri)
    assert ref.uri == layout.artifact_key("demo", "home", "popularity", ref.sha256)
    assert (ref.bytes, ref.rows, ref.schema_version) == (len(data), 4, 1)


def test_second_publish_chains_previous_version(storage: FileStorage, keys: SigningKeys) -> None:
    first = publish(storage, 0)
    second = publish(storage, 1, items=["x", "y"])
    assert second.previous_version == first.manifest_version
    assert serving(storage, keys) == second.manifest_version


def test_republishing_identical_content_reuses_the_blob(
    storage: FileStorage, keys: SigningKeys
) -> None:
    first = publish(storage, 0)
    second = publish(storage, 1)
    assert first.artifacts == second.artifacts
    assert len(storage.list(layout.artifact_prefix("demo", "home", "popularity"))) == 1
    assert serving(storage, keys) == second.manifest_version
    assert [e.version for e in registry.history(storage, keys, "demo", "home")] == [
        second.manifest_version,
        first.manifest_version,
    ]


def test_retrying_the_same_publish_after_it_wrote_history_succeeds(
    storage: FileStorage, keys: SigningKeys
) -> None:
    # Removing the pointer puts storage back in the state the first call started from,
    # so the repeated call builds the same history record byte for byte.
    first = publish(storage, 0)
    storage.delete(layout.pointer_key("demo", "home"))
    again = publish(storage, 0)
    assert again == first
    assert serving(storage, keys) == first.manifest_version


def test_existing_history_record_with_other_bytes_is_never_overwritten(
    storage: FileStorage,
) -> None:
    first = publish(storage, 0)
    path = history_path(storage, first.manifest_version)
    path.write_bytes(b"something else")
    storage.delete(layout.pointer_key("demo", "home"))
    with pytest.raises(ArtifactError, match=r"history record .* holds other bytes"):
        publish(storage, 0)
    assert path.read_bytes() == b"something else"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_metrics_are_refused_before_anything_is_written(
    storage: FileStorage, keys: SigningKeys, value: float
) -> None:
    previous = publish(storage, 0)
    before = storage.list("artifacts") + storage.list("registry")
    with pytest.raises(ArtifactError, match=r"metric 'coverage' is .*: must be a finite number"):
        publish_popularity(storage, now=at(1), items=["z"], metrics={"coverage": value})
    assert storage.list("artifacts") + storage.list("registry") == before
    assert serving(storage, keys) == previous.manifest_version


@pytest.mark.parametrize("value", [True, "1.0", None])
def test_non_numeric_metrics_are_refused(storage: FileStorage, value: Any) -> None:
    with pytest.raises(ArtifactError, match="must be a finite number"):
        publish_popularity(storage, now=T0, metrics={"coverage": value})
    assert storage.list("registry") == []


def test_publish_without_blobs_is_refused(storage: FileStorage, keys: SigningKeys) -> None:
    with pytest.raises(ArtifactError, match="nothing to publish"):
        registry.publish(
            storage,
            keys,
            tenant="demo",
            surface="home",
            as_of=DAY,
            window=publish(storage).window,
            blobs=[],
            lineage=publish(storage, 1).lineage,
            metrics={},
        )


def test_two_blobs_of_one_kind_are_refused(storage: FileStorage, keys: SigningKeys) -> None:
    manifest = publish(storage)
    before = storage.list("artifacts") + storage.list("registry")
    with pytest.raises(ArtifactError, match="artifact kinds repeat"):
        registry.publish(
            storage,
            keys,
            tenant="demo",
            surface="home",
            as_of=DAY,
            window=manifest.window,
            blobs=[popularity_blob(["a"]), popularity_blob(["b"])],
            lineage=manifest.lineage,
            metrics={},
        )
    assert storage.list("artifacts") + storage.list("registry") == before


def test_invalid_blob_is_refused_and_nothing_is_written(
    storage: FileStorage, keys: SigningKeys
) -> None:
    manifest = publish(storage)
    before = storage.list("artifacts") + storage.list("registry")
    with pytest.raises(ArtifactError, match="not a readable Arrow IPC file"):
        registry.publish(
            storage,
            keys,
            tenant="demo",
            surface="home",
            as_of=DAY,
            window=manifest.window,
            blobs=[ArtifactBlob("popularity", b"garbage", 1, 1)],
            lineage=manifest.lineage,
            metrics={},
        )
    assert storage.list("artifacts") + storage.list("registry") == before


def test_corrupt_blob_at_the_content_address_is_reported_not_overwritten(
    storage: FileStorage,
) -> None:
    manifest = publish(storage, 0)
    blob_path = storage.root / manifest.artifacts["popularity"].uri
    tamper(blob_path)
    corrupted = blob_path.read_bytes()
    with pytest.raises(ArtifactError, match="existing blob is corrupt"):
        publish(storage, 1)
    assert blob_path.read_bytes() == corrupted


def test_older_as_of_is_recorded_but_not_served_without_allow_rewind(
    storage: FileStorage, keys: SigningKeys
) -> None:
    current = publish(storage, 0)
    older = publish_popularity(storage, now=at(1), as_of=DAY - dt.timedelta(days=1))
    assert not older.swapped
    assert "pass allow_rewind" in older.message
    assert current.manifest_version in older.message
    assert serving(storage, keys) == current.manifest_version
    assert storage.exists(layout.history_key("demo", "home", older.manifest.manifest_version))


def test_allow_rewind_serves_the_older_day(storage: FileStorage, keys: SigningKeys) -> None:
    publish(storage, 0)
    older = publish(storage, 1, as_of=DAY - dt.timedelta(days=1), allow_rewind=True)
    assert serving(storage, keys) == older.manifest_version


def test_same_or_newer_day_is_served(storage: FileStorage, keys: SigningKeys) -> None:
    publish(storage, 0)
    same = publish(storage, 1, items=["q"])
    assert serving(storage, keys) == same.manifest_version
    newer = publish(storage, 2, as_of=DAY + dt.timedelta(days=1))
    assert serving(storage, keys) == newer.manifest_version


@pytest.mark.parametrize("garbage", [b"{garbage", b'{"tenant": "\xff"}'])
def test_undecodable_pointer_is_replaced_by_the_next_publish(
    storage: FileStorage, keys: SigningKeys, garbage: bytes
) -> None:
    storage.write_bytes(layout.pointer_key("demo", "home"), garbage)
    manifest = publish(storage)
    assert manifest.previous_version is None
    assert serving(storage, keys) == manifest.manifest_version


class RacingStorage(FileStorage):
    """Another publisher moves the pointer just before our compare-and-swap."""

    raced = False

    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        if not self.raced and key == layout.pointer_key("demo", "home"):
            self.raced = True
            publish_popularity(FileStorage(self.root), now=at(30), items=["winner"])
        return super().compare_and_swap(key, data, expected_token)


def test_concurrent_publish_loses_with_concurrent_publish_error(
    tmp_path: Path, keys: SigningKeys
) -> None:
    storage = RacingStorage(tmp_path / "store")
    publish_popularity(FileStorage(storage.root), now=T0)
    storage.raced = False
    with pytest.raises(ConcurrentPublishError, match="another publisher won"):
        publish_popularity(storage, now=at(1), items=["loser"])
    assert serving(storage, keys).startswith("20261121T063000000Z-")


def test_concurrent_first_publish_also_conflicts(tmp_path: Path, keys: SigningKeys) -> None:
    storage = RacingStorage(tmp_path / "store")
    with pytest.raises(ConcurrentPublishError):
        publish_popularity(storage, now=at(1), items=["loser"])
    assert serving(storage, keys).startswith("20261121T063000000Z-")


# --- a publish killed between the history write and the pointer swap ---------------------------

CHILD = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from pathlib import Path
    from recsys_algo.contracts import layout
    from recsys_algo.store.storage import FileStorage
    from tests.support.builders import publish_popularity

    root, mode = Path(sys.argv[1]), sys.argv[2]
    pointer = layout.pointer_key("demo", "home")

    class Dying(FileStorage):
        def write_new(self, key, data):
            super().write_new(key, data)
            if mode == "after-history" and "/manifests/" in key:
                os._exit(9)

        def write_bytes(self, key, data):
            if mode == "in-swap" and key == pointer:
                os.kill(os.getpid(), signal.SIGKILL)  # dies holding the pointer lock
            super().write_bytes(key, data)

    now = dt.datetime(2026, 11, 21, 7, 0, tzinfo=dt.UTC)
    publish_popularity(Dying(root), items=["new-1", "new-2"], now=now)
    sys.exit(0)
    """
)


# --- a publish killed between the history write and the pointer swap ---------------------------

CHILD = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from pathlib import Path
    from recsys_algo.contracts import layout
    from recsys_algo.store.storage import FileStorage
    from tests.support.builders import publish_popularity

    root, mode = Path(sys.argv[1]), sys.argv[2]
    pointer = layout.pointer_key("demo", "home")

    class Dying(FileStorage):
        def write_new(self, key, data):
            super().write_new(key, data)
            if mode == "after-history" and "/manifests/" in key:
                os._exit(9)

        def write_bytes(self, key, data):
            if mode == "in-swap" and key == pointer:
                os.kill(os.getpid(), signal.SIGKILL)  # dies holding the pointer lock
            super().write_bytes(key, data)

    now = dt.datetime(2026, 11, 21, 7, 0, tzinfo=dt.UTC)
    publish_popularity(Dying(root), items=["new-1", "new-2"], now=now)
    sys.exit(0)
    """
)


MODES = {"after-history": 9, "in-swap": -9}


def test_publish_killed_before_the_swap_leaves_the_previous_manifest_served(
    tmp_path: Path, keys: SigningKeys
) -> None:
    stores = {mode: FileStorage(tmp_path / mode) for mode in MODES}
    previous = {mode: publish(store, 0) for mode, store in stores.items()}
    served_before = {mode: pointer_bytes(store) for mode, store in stores.items()}
    # Both children run at once: each spends most of its time importing polars and pyarrow.
    children = {
        mode: subprocess.Popen(
            [sys.executable, "-c", CHILD, str(store.root), mode],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for mode, store in stores.items()
    }
    for mode, child in children.items():
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == MODES[mode], stderr.decode()
    for mode, storage in stores.items():
        # The child got as far as the history record: its manifest exists but is not served.
        versions = [e.version for e in registry.history(storage, keys, "demo", "home")]
        assert len(versions) == 2, mode
        assert pointer_bytes(storage) == served_before[mode], mode
        loaded = registry.load_verified(storage, keys, "demo", "home")
        assert loaded is not None
        assert loaded[0].manifest.manifest_version == previous[mode].manifest_version
        assert not [k for k in storage.list("registry") if ".tmp-" in k]
        # The next publish, even the identical retry, goes through on top of the previous one
        # (and takes the pointer lock the killed child held).
        retry = publish_popularity(storage, items=["new-1", "new-2"], now=T0.replace(hour=7))
        assert retry.swapped
        assert retry.manifest.previous_version == previous[mode].manifest_version
        assert retry.manifest.manifest_version in versions
        assert serving(storage, keys) == retry.manifest.manifest_version


# --- reading -----------------------------------------------------------------------------------


def test_nothing_published_reads_as_none(storage: FileStorage, keys: SigningKeys) -> None:
    assert registry.read_current(storage, keys, "demo", "home") is None
    assert registry.load_verified(storage, keys, "demo", "home") is None
    assert registry.history(storage, keys, "demo", "home") == []


def test_pointer_with_invalid_utf8_is_an_artifact_error(
    storage: FileStorage, keys: SigningKeys
) -> None:
    publish(storage)
    raw = pointer_bytes(storage).replace(b'"tenant":"demo"', b'"tenant":"dem\xff"')
    storage.write_bytes(layout.pointer_key("demo", "home"), raw)
    with pytest.raises(ArtifactError, match="not valid JSON"):
        registry.read_current(storage, keys, "demo", "home")


def test_tampered_pointer_is_a_signature_error(storage: FileStorage, keys: SigningKeys) -> None:
    publish(storage)
    document = msgspec.json.decode(pointer_bytes(storage))
    document["as_of"] = "2030-01-01"
    storage.write_bytes(layout.pointer_key("demo", "home"), msgspec.json.encode(document))
    with pytest.raises(SignatureError, match=r"registry/current/demo/home/manifest\.json"):
        registry.read_current(storage, keys, "demo", "home")


def test_pointer_signed_by_unknown_key_is_refused(storage: FileStorage) -> None:
    publish(storage, keys=signing_keys(OTHER_SIGNING_SPEC))
    with pytest.raises(SignatureError, match="unknown key id 'other-kid'"):
        registry.read_current(storage, signing_keys(), "demo", "home")


def test_pointer_holding_another_scope_is_refused(storage: FileStorage, keys: SigningKeys) -> None:
    publish(storage, tenant="acme")
    storage.write_bytes(
        layout.pointer_key("demo", "home"), storage.read_bytes(layout.pointer_key("acme", "home"))
    )
    with pytest.raises(ArtifactError, match="belongs to acme/home, not demo/home"):
        registry.read_current(storage, keys, "demo", "home")


def test_missing_or_tampered_blob_fails_load_verified(
    storage: FileStorage, keys: SigningKeys
) -> None:
    manifest = publish(storage)
    blob = storage.root / manifest.artifacts["popularity"].uri
    tamper(blob)
    with pytest.raises(ArtifactError, match="does not match the manifest"):
        registry.load_verified(storage, keys, "demo", "home")
    blob.unlink()
    with pytest.raises(ArtifactError, match="artifact is missing"):
        registry.load_verified(storage, keys, "demo", "home")


def test_history_reports_broken_records_without_raising(
    storage: FileStorage, keys: SigningKeys
) -> None:
    first = publish(storage, 0)
    second = publish(storage, 1)
    tamper(history_path(storage, first.manifest_version))
    (storage.root / layout.history_prefix("demo", "home") / "not-a-version.json").write_bytes(b"x")
    entries = registry.history(storage, keys, "demo", "home")
    assert [e.version for e in entries] == [
        "not-a-version",
        second.manifest_version,
        first.manifest_version,
    ]
    assert entries[1].manifest == second
    assert entries[2].manifest is None
    assert entries[2].error
    assert entries[0].error is not None
    assert "is invalid" in entries[0].error


def test_read_version_refuses_a_record_holding_another_version(
    storage: FileStorage, keys: SigningKeys
) -> None:
    first = publish(storage, 0)
    second = publish(storage, 1)
    history_path(storage, first.manifest_version).write_bytes(
        history_path(storage, second.manifest_version).read_bytes()
    )
    with pytest.raises(ArtifactError, match=f"holds version {second.manifest_version}"):
        history.read_version(storage, keys, "demo", "home", first.manifest_version)


# --- rollback ----------------------------------------------------------------------------------


def test_rollback_to_previous_serves_it_and_writes_an_audit_record(
    storage: FileStorage, keys: SigningKeys
) -> None:
    first = publish(storage, 0)
    second = publish(storage, 1, items=["x"])
    moved_from, moved_to = rollback(storage, keys, "demo", "home", reason="bad model", now=at(5))
    assert (moved_from, moved_to) == (second, first)
    assert serving(storage, keys) == first.manifest_version
    assert pointer_bytes(storage) == history_path(storage, first.manifest_version).read_bytes()
    assert audit_records(storage) == [
        {
            "action": "rollback",
            "tenant": "demo",
            "surface": "home",
            "from_version": second.manifest_version,
            "to_version": first.manifest_version,
            "at": "2026-11-21T06:05:00.000Z",
            "reason": "bad model",
        }
    ]


def test_rollback_to_an_explicit_version(storage: FileStorage, keys: SigningKeys) -> None:
    first = publish(storage, 0)
    publish(storage, 1, items=["x"])
    third = publish(storage, 2, items=["y"])
    _, target = rollback(storage, keys, "demo", "home", first.manifest_version)
    assert target == first
    assert serving(storage, keys) == first.manifest_version
    assert audit_records(storage)[0]["from_version"] == third.manifest_version


def test_rolling_back_the_first_version_has_nowhere_to_go(
    storage: FileStorage, keys: SigningKeys
) -> None:
    only = publish(storage)
    with pytest.raises(NotFoundError, match=f"{only.manifest_version} has no previous version"):
        rollback(storage, keys, "demo", "home")


def test_rollback_with_nothing_published(storage: FileStorage, keys: SigningKeys) -> None:
    with pytest.raises(NotFoundError, match="nothing is published"):
        rollback(storage, keys, "demo", "home")


def test_rollback_to_the_serving_version_is_refused(
    storage: FileStorage, keys: SigningKeys
) -> None:
    publish(storage, 0)
    current = publish(storage, 1)
    with pytest.raises(ConfigError, match="is already serving"):
        rollback(storage, keys, "demo", "home", current.manifest_version)


def test_rollback_to_unknown_or_malformed_version(storage: FileStorage, keys: SigningKeys) -> None:
    publish(storage)
    with pytest.raises(NotFoundError, match="does not exist"):
        rollback(storage, keys, "demo", "home", "20200101T000000000Z-00000000")
    with pytest.raises(ConfigError, match="is invalid"):
        rollback(storage, keys, "demo", "home", "../../current/demo/home/manifest")


@pytest.mark.parametrize("target_damage", ["blob", "manifest", "blob-missing"])
def test_rollback_to_a_damaged_target_is_refused_and_pointer_unchanged(
    storage: FileStorage, keys: SigningKeys, target_damage: str
) -> None:
    first = publish(storage, 0, items=["old-1", "old-2"])
    publish(storage, 1, items=["x"])
    before = pointer_bytes(storage)
    blob = storage.root / first.artifacts["popularity"].uri
    if target_damage == "blob":
        tamper(blob)
    elif target_damage == "blob-missing":
        blob.unlink()
    else:
        document = msgspec.json.decode(history_path(storage, first.manifest_version).read_bytes())
        document["metrics"]["rows"] = 1e9
        history_path(storage, first.manifest_version).write_bytes(msgspec.json.encode(document))
    expected = SignatureError if target_damage == "manifest" else ArtifactError
    with pytest.raises(expected):
        rollback(storage, keys, "demo", "home")
    assert pointer_bytes(storage) == before
    assert audit_records(storage) == []


@pytest.mark.parametrize("garbage", [b"{broken", b'{"tenant": "\xff"}'])
def test_rollback_with_unreadable_pointer_needs_an_explicit_version(
    storage: FileStorage, keys: SigningKeys, garbage: bytes
) -> None:
    first = publish(storage)
    storage.write_bytes(layout.pointer_key("demo", "home"), garbage)
    with pytest.raises(
        ArtifactError, match=r"does not verify .*name the version to serve with --to"
    ):
        rollback(storage, keys, "demo", "home")
    rollback(storage, keys, "demo", "home", first.manifest_version)
    assert serving(storage, keys) == first.manifest_version
    assert audit_records(storage)[0]["from_version"] is None


class PointerMovesDuringRollback(FileStorage):
    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        FileStorage.write_bytes(self, key, b"moved by someone else")
        return super().compare_and_swap(key, data, expected_token)


def test_rollback_loses_a_race_with_concurrent_publish_error(
    tmp_path: Path, keys: SigningKeys
) -> None:
    plain = FileStorage(tmp_path / "store")
    publish(plain, 0)
    publish(plain, 1, items=["x"])
    with pytest.raises(ConcurrentPublishError):
        rollback(PointerMovesDuringRollback(plain.root), keys, "demo", "home")
    assert pointer_bytes(plain) == b"moved by someone else"


# --- scopes ------------------------------------------------------------------------------------


def test_list_published_scopes(storage: FileStorage) -> None:
    assert pointer.list_published_scopes(storage) == []
    publish(storage, tenant="beta", surface="web")
    publish(storage, tenant="acme", surface="home")
    publish(storage, tenant="acme", surface="app")
    storage.write_bytes("registry/current/Bad/home/manifest.json", b"x")
    storage.write_bytes("registry/current/acme/deep/er/manifest.json", b"x")
    storage.write_bytes("registry/current/acme/x/other.json", b"x")
    assert pointer.list_published_scopes(storage) == [
        ("acme", "app"),
        ("acme", "home"),
        ("beta", "web"),
    ]
