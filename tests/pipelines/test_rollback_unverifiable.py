"""`recsys rollback` compares against what verifies, not what the pointer claims: a garbage or
tampered pointer is repaired by one rollback, and nothing an unverified pointer says is used."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recsys_algo.contracts import layout
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage
from recsys_pipelines.cli import main
from tests.support.builders import SIGNING_SPEC, publish_popularity, signing_keys

TENANT, SURFACE = "acme", "home"
T0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    monkeypatch.delenv("RECSYS_SIGNALS_DSN", raising=False)
    storage = FileStorage(tmp_path / "store")
    monkeypatch.setenv("RECSYS_STORAGE_URL", storage.url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", SIGNING_SPEC)
    return storage


def two_versions(store: FileStorage) -> tuple[str, str]:
    versions = []
    for n, items in enumerate((("a", "b"), ("c", "d"))):
        outcome = publish_popularity(
            store, tenant=TENANT, surface=SURFACE, items=items, now=T0 + dt.timedelta(hours=n)
        )
        versions.append(outcome.manifest.manifest_version)
    return versions[0], versions[1]


def rollback(*extra: str) -> Result:
    return CliRunner().invoke(main, ["rollback", "--tenant", TENANT, "--surface", SURFACE, *extra])


def serving(store: FileStorage) -> str:
    current = registry.read_current(store, signing_keys(), TENANT, SURFACE)
    assert current is not None
    return current.manifest.manifest_version


def pointer(store: FileStorage) -> Path:
    return Path(store.root) / layout.pointer_key(TENANT, SURFACE)


def tamper(store: FileStorage, version: str) -> None:
    """The pointer names `version` but no longer verifies (a field edited after signing)."""
    document = json.loads(store.read_bytes(layout.history_key(TENANT, SURFACE, version)))
    document["as_of"] = "2026-12-31"
    pointer(store).write_text(json.dumps(document))


def test_rollback_away_from_a_garbage_pointer_names_what_it_replaced(store: FileStorage) -> None:
    first, _ = two_versions(store)
    pointer(store).write_bytes(b"\x00garbage")
    result = rollback("--to", first)
    assert result.exit_code == 0, result.output
    assert f"{first} -> {first}" not in result.output
    assert f"a pointer that does not verify -> {first}" in result.output, result.output
    assert serving(store) == first


def test_one_rollback_repairs_a_tampered_pointer_naming_the_version(store: FileStorage) -> None:
    _, second = two_versions(store)
    tamper(store, second)
    result = rollback("--to", second)
    assert result.exit_code == 0, result.output
    assert "already serving" not in result.output
    assert serving(store) == second  # verifies again, in one rollback
    audits = [k for k in store.list(f"registry/{TENANT}/{SURFACE}/audit") if "rollback" in k]
    record = json.loads(store.read_bytes(audits[-1]))
    assert (record["from_version"], record["to_version"]) == (None, second)


def test_rollback_without_a_version_trusts_nothing_an_unverified_pointer_says(
    store: FileStorage,
) -> None:
    first, second = two_versions(store)
    tamper(store, second)  # it still names `first` as previous_version: that must not be used
    assert json.loads(pointer(store).read_bytes())["previous_version"] == first
    before = pointer(store).read_bytes()
    result = rollback()
    assert result.exit_code == 5, result.output
    assert "does not verify" in result.output and "--to" in result.output
    assert pointer(store).read_bytes() == before


def test_rollback_to_the_verified_serving_version_is_still_refused(store: FileStorage) -> None:
    _, second = two_versions(store)
    result = rollback("--to", second)
    assert result.exit_code == 2 and "already serving" in result.output, result.output
