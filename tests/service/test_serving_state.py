"""Serving state: verified loads, hot swap on pointer change, last good kept on any failure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys_algo.contracts.errors import SignatureError
from recsys_algo.store.storage import FileStorage
from recsys_service.serving_state import ServingState
from tests.service.builders import (
    OTHER_SIGNING_SPEC,
    item_ids,
    pointer_path,
    publish_popularity,
    signing_keys,
    tamper_artifact,
)


def _state(storage: FileStorage, **kwargs: object) -> ServingState:
    return ServingState(storage, signing_keys(), **kwargs)  # type: ignore[arg-type]


def test_refresh_loads_every_published_scope_with_sorted_index(storage: FileStorage) -> None:
    manifest = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    publish_popularity(storage, "beta", "pdp", item_ids("b", 3))
    state = _state(storage)
    state.refresh()
    assert sorted(state.entries) == [("acme", "home"), ("beta", "pdp")]
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None and entry.last_error is None
    assert entry.loaded.manifest.manifest_version == manifest.manifest_version
    assert [i for i, _ in entry.loaded.model.popular(10)] == item_ids("a", 5)
    assert np.all(np.diff(entry.loaded.model.popular_items.scores) < 0)


def test_unchanged_pointer_keeps_the_same_loaded_object(storage: FileStorage) -> None:
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state = _state(storage)
    state.refresh()
    first = state.get("acme", "home")
    state.refresh()
    second = state.get("acme", "home")
    assert first is not None and second is not None
    assert second.loaded is first.loaded


def test_new_good_version_is_swapped_in(storage: FileStorage) -> None:
    publish_popularity(storage, "acme", "home", item_ids("old-", 5))
    state = _state(storage)
    state.refresh()
    newer = publish_popularity(storage, "acme", "home", item_ids("new-", 5))
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.loaded.manifest.manifest_version == newer.manifest_version
    assert entry.loaded.model.popular(1)[0][0] == "new-000"


def test_tampered_newer_version_is_rejected_and_old_keeps_serving(storage: FileStorage) -> None:
    old = publish_popularity(storage, "acme", "home", item_ids("old-", 5))
    state = _state(storage)
    state.refresh()
    bad = publish_popularity(storage, "acme", "home", item_ids("bad-", 5))
    tamper_artifact(storage, bad)
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.loaded.manifest.manifest_version == old.manifest_version
    assert entry.last_error is not None and "digest" in entry.last_error
    assert entry.last_error_at is not None
    # A later good version recovers and clears the error.
    good = publish_popularity(storage, "acme", "home", item_ids("good-", 5))
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None and entry.last_error is None
    assert entry.loaded.manifest.manifest_version == good.manifest_version


def test_manifest_signed_with_unknown_key_is_never_loaded(storage: FileStorage) -> None:
    publish_popularity(
        storage, "acme", "home", item_ids("a", 5), keys=signing_keys(OTHER_SIGNING_SPEC)
    )
    state = _state(storage)
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is None
    assert entry.last_error is not None and "SignatureError" in entry.last_error


def test_edited_pointer_fails_signature_and_old_keeps_serving(storage: FileStorage) -> None:
    old = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state = _state(storage)
    state.refresh()
    path = pointer_path(storage, "acme", "home")
    path.write_bytes(path.read_bytes().replace(b'"as_of":"2026-11-20"', b'"as_of":"2026-11-21"'))
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.loaded.manifest.manifest_version == old.manifest_version
    assert entry.last_error is not None and "signature" in entry.last_error


def test_vanished_pointer_is_reported_and_last_good_kept(storage: FileStorage) -> None:
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state = _state(storage)
    state.refresh()
    pointer_path(storage, "acme", "home").unlink()
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.last_error is not None and "does not exist" in entry.last_error


def test_without_signing_keys_every_scope_reports_the_error(storage: FileStorage) -> None:
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state = ServingState(storage, None)
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is None
    assert entry.last_error is not None and "no signing keys" in entry.last_error


def test_explicit_scopes_limit_what_is_loaded(storage: FileStorage) -> None:
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    publish_popularity(storage, "beta", "home", item_ids("b", 5))
    state = _state(storage, scopes=(("beta", "home"), ("beta", "pdp")))
    state.refresh()
    assert sorted(state.entries) == [("beta", "home"), ("beta", "pdp")]
    missing = state.get("beta", "pdp")
    assert missing is not None and missing.loaded is None
    assert missing.last_error is not None


@pytest.mark.parametrize("k", [1, 5])
def test_request_holding_old_entry_is_unaffected_by_swap(storage: FileStorage, k: int) -> None:
    publish_popularity(storage, "acme", "home", item_ids("old-", 5))
    state = _state(storage)
    state.refresh()
    held = state.get("acme", "home")
    publish_popularity(storage, "acme", "home", item_ids("new-", 5))
    state.refresh()
    assert held is not None and held.loaded is not None
    assert all(i.startswith("old-") for i, _ in held.loaded.model.popular(k))


def test_non_ascii_signature_value_is_a_signature_error(storage: FileStorage) -> None:
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    path = pointer_path(storage, "acme", "home")
    raw = path.read_bytes()
    start = raw.index(b'"value":"') + len(b'"value":"')
    path.write_bytes(raw[:start] + "é".encode() * 64 + raw[start + 64 :])
    with pytest.raises(SignatureError, match="does not match"):
        signing_keys().verify("test-kid", b"payload", "é" * 64)
    state = _state(storage)
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is None
    assert entry.last_error is not None and entry.last_error.startswith("SignatureError")


def test_stray_pointer_folders_with_invalid_names_are_not_scopes(tmp_path: Path) -> None:
    from recsys_algo.store.pointer import list_published_scopes
    from recsys_algo.store.storage import open_storage

    storage = open_storage(tmp_path.as_uri())
    storage.write_bytes("registry/current/Bad Tenant/home/manifest.json", b"{}")
    storage.write_bytes("registry/current/acme/home/manifest.json", b"{}")
    assert list_published_scopes(storage) == [("acme", "home")]
