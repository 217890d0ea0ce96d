"""Settings parsing: API keys, watch interval, scopes, and from_env."""

from __future__ import annotations

import re

import pytest

from recsys_algo.contracts.errors import ConfigError
from recsys_service.settings import (
    Settings,
    parse_api_keys,
    parse_scopes,
    parse_watch_interval,
)
from tests.service.builders import SIGNING_SPEC, sha256_hex

SECRET = "s3cret-key-material"


def test_api_keys_parse_names_tenants_and_hashes() -> None:
    spec = f"web:acme:{sha256_hex('a')}, ops:*:{sha256_hex('b')}"
    keys = parse_api_keys(spec)
    assert [(k.name, k.tenant, k.is_admin) for k in keys] == [
        ("web", "acme", False),
        ("ops", "*", True),
    ]
    assert keys[0].sha256 == bytes.fromhex(sha256_hex("a"))
    assert sha256_hex("a") not in repr(keys[0])


@pytest.mark.parametrize(
    "spec",
    [
        f"web:acme:{SECRET}",  # the raw key instead of its hash
        f"web:{SECRET}",
        f"web:Acme!:{sha256_hex('a')}",
        f"bad name:acme:{sha256_hex('a')}",
        f"web:acme:{sha256_hex('a')}:{SECRET}",
    ],
)
def test_malformed_api_key_entry_is_config_error_without_key_material(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_api_keys(spec)
    assert SECRET not in str(caught.value)
    assert "entry #1" in str(caught.value)


def test_repeated_key_hash_is_rejected_without_echoing_it() -> None:
    digest = sha256_hex("same")
    with pytest.raises(ConfigError, match="repeats") as caught:
        parse_api_keys(f"a:acme:{digest},b:beta:{digest}")
    assert digest not in str(caught.value)


@pytest.mark.parametrize("value", ["0.5", "31", "abc", "nan", "-1"])
def test_watch_interval_outside_1_to_30_is_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="RECSYS_WATCH_INTERVAL"):
        parse_watch_interval(value)


def test_watch_interval_bounds_are_inclusive() -> None:
    assert parse_watch_interval("1") == 1.0
    assert parse_watch_interval("30") == 30.0


def test_scopes_parse_in_order_without_repeats() -> None:
    assert parse_scopes("acme.home, demo.pdp,acme.home") == (("acme", "home"), ("demo", "pdp"))
    with pytest.raises(ConfigError):
        parse_scopes("acme-home")


def test_from_env_reads_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_STORAGE_URL", "file:///srv/recsys")
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", SIGNING_SPEC)
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    monkeypatch.setenv("RECSYS_API_KEYS", f"web:acme:{sha256_hex('k')}")
    monkeypatch.setenv("RECSYS_WATCH_INTERVAL", "2.5")
    monkeypatch.setenv("RECSYS_SCOPES", "acme.home")
    settings = Settings.from_env()
    assert settings.storage_url == "file:///srv/recsys"
    assert settings.signing_keys is not None
    assert settings.signing_keys.key_ids == ("test-kid",)
    assert [k.name for k in settings.api_keys] == ["web"]
    assert not settings.open_mode
    assert settings.watch_interval == 2.5
    assert settings.scopes == (("acme", "home"),)


def test_from_env_defaults_to_open_mode_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "RECSYS_SIGNING_KEYS",
        "RECSYS_SIGNING_KEYS_FILE",
        "RECSYS_API_KEYS",
        "RECSYS_WATCH_INTERVAL",
        "RECSYS_SCOPES",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.signing_keys is None
    assert settings.open_mode
    assert settings.watch_interval == 5.0
    assert settings.scopes is None


def test_loader_and_prepared_dir_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RECSYS_LOADER", raising=False)
    monkeypatch.delenv("RECSYS_PREPARED_DIR", raising=False)
    monkeypatch.delenv("RECSYS_LOADER_NICE", raising=False)
    defaults = Settings.from_env()
    assert (defaults.loader, defaults.prepared_dir) == ("process", None)
    monkeypatch.setenv("RECSYS_LOADER", "thread")
    monkeypatch.setenv("RECSYS_PREPARED_DIR", "/var/cache/recsys")
    monkeypatch.setenv("RECSYS_LOADER_NICE", "10")
    settings = Settings.from_env()
    assert (settings.loader, str(settings.prepared_dir)) == ("thread", "/var/cache/recsys")
    assert (defaults.loader_nice, settings.loader_nice) == (0, 10)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("RECSYS_LOADER", "fork", "RECSYS_LOADER='fork' is invalid: one of process, thread"),
        ("RECSYS_PREPARED_DIR", "cache", "RECSYS_PREPARED_DIR='cache' must be an absolute path"),
        ("RECSYS_LOADER_NICE", "20", "RECSYS_LOADER_NICE=20 is invalid: use 0..19"),
        ("RECSYS_LOADER_NICE", "-1", "RECSYS_LOADER_NICE='-1' is invalid: use 0..19"),
    ],
)
def test_bad_loader_settings_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(needle)):
        Settings.from_env()
