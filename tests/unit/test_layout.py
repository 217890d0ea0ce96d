from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConfigError, InvalidName
from recsys_algo.store.storage import check_key

DAY = dt.date(2026, 11, 20)
VERSION = "20261123T065012123Z-ab12cd34"

KEYS: dict[str, Callable[[str, str], str]] = {
    "raw": lambda t, s: layout.raw_prefix(t, s, DAY),
    "staging": lambda t, s: layout.staging_key(t, s, DAY, "events.parquet"),
    "canonical": lambda t, s: layout.canonical_key(t, s, DAY),
    "quarantine": lambda t, s: layout.quarantine_key(t, s, DAY),
    "artifact": lambda t, s: layout.artifact_key(t, s, "popularity", "ab" * 32),
    "history": lambda t, s: layout.history_key(t, s, VERSION),
    "audit": lambda t, s: layout.audit_key(t, s, "20261123T065012123456", "rollback"),
    "pointer": layout.pointer_key,
}


def test_documented_keys() -> None:
    assert [KEYS[k]("demo", "home") for k in KEYS] == [
        "raw/demo/home/2026-11-20",
        "staging/demo/home/2026-11-20/events.parquet",
        "canonical/demo/home/2026-11-20.parquet",
        "quarantine/demo/home/2026-11-20/rejected.jsonl",
        f"artifacts/demo/home/popularity/{'ab' * 32}.arrow",
        f"registry/demo/home/manifests/{VERSION}.json",
        "registry/demo/home/audit/20261123T065012123456-rollback.json",
        "registry/current/demo/home/manifest.json",
    ]
    assert layout.catalog_key("demo") == "catalog/demo/items.jsonl"


@pytest.mark.parametrize("build", list(KEYS.values()), ids=list(KEYS))
def test_every_key_is_a_valid_storage_key(build: Callable[[str, str], str]) -> None:
    assert check_key(build("a-b_c", "x9")) == build("a-b_c", "x9")


@pytest.mark.parametrize("build", list(KEYS.values()), ids=list(KEYS))
@pytest.mark.parametrize(("tenant", "surface"), [("../x", "home"), ("demo", "a/b"), ("Demo", "h")])
def test_every_key_refuses_bad_names(
    build: Callable[[str, str], str], tenant: str, surface: str
) -> None:
    with pytest.raises(InvalidName):
        build(tenant, surface)


def test_artifact_kind_and_history_version_are_checked() -> None:
    with pytest.raises(InvalidName):
        layout.artifact_key("demo", "home", "../pop", "ab")
    with pytest.raises(ConfigError, match="manifest version"):
        layout.history_key("demo", "home", "../../current")
    with pytest.raises(InvalidName):
        layout.catalog_key("../etc")
