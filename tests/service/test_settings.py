"""Service settings: API keys, scopes, and every variable Settings.from_env reads."""

from __future__ import annotations

import logging
import re

import pytest

from recsys_algo.contracts.errors import ConfigError
from recsys_service.event_log import EventLogEnv
from recsys_service.settings import ServiceEnv, Settings, parse_api_keys, parse_scopes
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


@pytest.mark.parametrize("value", ["0.5", "31", "abc", "nan", "inf", "-1"])
def test_watch_interval_outside_1_to_30_is_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RECSYS_WATCH_INTERVAL", value)
    with pytest.raises(
        ConfigError, match=re.escape(f"RECSYS_WATCH_INTERVAL={value!r} is invalid: ")
    ):
        Settings.from_env()


@pytest.mark.parametrize(("value", "seconds"), [("1", 1.0), ("30", 30.0), (" 2.5 ", 2.5)])
def test_watch_interval_bounds_are_inclusive(
    monkeypatch: pytest.MonkeyPatch, value: str, seconds: float
) -> None:
    monkeypatch.setenv("RECSYS_WATCH_INTERVAL", value)
    assert Settings.from_env().watch_interval == seconds


@pytest.mark.parametrize(("value", "seconds"), [(None, 3600.0), ("0", 0.0), ("600", 600.0)])
def test_reverify_interval_defaults_to_an_hour_and_0_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, seconds: float
) -> None:
    if value is not None:
        monkeypatch.setenv("RECSYS_REVERIFY_INTERVAL", value)
    assert Settings.from_env().reverify_interval == seconds


@pytest.mark.parametrize("value", ["-1", "nan", "604801", "hourly"])
def test_a_bad_reverify_interval_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RECSYS_REVERIFY_INTERVAL", value)
    with pytest.raises(ConfigError, match="RECSYS_REVERIFY_INTERVAL"):
        Settings.from_env()


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
    monkeypatch.delenv("RECSYS_LOADER_SPARE", raising=False)
    defaults = Settings.from_env()
    assert (defaults.loader, defaults.prepared_dir) == ("process", None)
    monkeypatch.setenv("RECSYS_LOADER", "thread")
    monkeypatch.setenv("RECSYS_PREPARED_DIR", "/var/cache/recsys")
    monkeypatch.setenv("RECSYS_LOADER_NICE", "10")
    monkeypatch.setenv("RECSYS_LOADER_SPARE", "false")
    settings = Settings.from_env()
    assert (settings.loader, str(settings.prepared_dir)) == ("thread", "/var/cache/recsys")
    assert (defaults.loader_nice, settings.loader_nice) == (0, 10)
    assert (defaults.loader_spare, settings.loader_spare) == (True, False)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("RECSYS_LOADER", "fork", "RECSYS_LOADER='fork' is invalid: input should be 'process' or"),
        ("RECSYS_PREPARED_DIR", "cache", "RECSYS_PREPARED_DIR='cache' is invalid: use an absolute"),
        ("RECSYS_LOADER_NICE", "20", "RECSYS_LOADER_NICE='20' is invalid: input should be less"),
        ("RECSYS_LOADER_NICE", "-1", "RECSYS_LOADER_NICE='-1' is invalid: input should be great"),
        ("RECSYS_LOADER_NICE", "low", "RECSYS_LOADER_NICE='low' is invalid: input should be a"),
        ("RECSYS_LOADER_SPARE", "maybe", "RECSYS_LOADER_SPARE='maybe' is invalid: input should be"),
    ],
)
def test_bad_loader_settings_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(needle)):
        Settings.from_env()


SERVICE_VARIABLES = {
    "RECSYS_API_KEYS",
    "RECSYS_WATCH_INTERVAL",
    "RECSYS_SCOPES",
    "RECSYS_SERVING_SOURCE",
    "RECSYS_RATE_LIMIT",
    "RECSYS_RATE_LIMIT_TENANTS",
    "RECSYS_METRICS",
    "RECSYS_LOADER",
    "RECSYS_PREPARED_DIR",
    "RECSYS_LOADER_NICE",
    "RECSYS_LOADER_SPARE",
    "RECSYS_LOG_LEVEL",
    "RECSYS_MAX_HEADER_BYTES",
    "RECSYS_MAX_HEADERS",
    "RECSYS_REVERIFY_INTERVAL",
}
SHARED_VARIABLES = {
    "RECSYS_STORAGE_URL",
    "RECSYS_SIGNING_KEYS",
    "RECSYS_SIGNING_KEYS_FILE",
    "RECSYS_SIGNALS_DSN",
    "RECSYS_MAX_SURFACES",
}
EVENT_LOG_VARIABLES = {
    "RECSYS_EVENTS_FLUSH_INTERVAL",
    "RECSYS_EVENTS_FLUSH_EVENTS",
    "RECSYS_EVENTS_BUFFER_MAX",
    "RECSYS_EVENTS_MAX_PAST_DAYS",
    "RECSYS_EVENTS_MAX_FUTURE_MINUTES",
    "RECSYS_EVENTS_SCOPE_MAX",
}


def test_the_service_reads_exactly_its_variables_by_their_names() -> None:
    # Spelled out: deployments set these names, so renaming one is a breaking change.
    read = {ServiceEnv.variable(f) for f in ServiceEnv.model_fields}
    assert read == SERVICE_VARIABLES | SHARED_VARIABLES
    assert {EventLogEnv.variable(f) for f in EventLogEnv.model_fields} == EVENT_LOG_VARIABLES


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SERVICE_VARIABLES | SHARED_VARIABLES | EVENT_LOG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_blank_variables_mean_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    # Except the API keys: blank there would mean open mode (tests/service/test_main.py).
    for name in (SERVICE_VARIABLES | EVENT_LOG_VARIABLES) - {"RECSYS_API_KEYS"}:
        clean_env.setenv(name, " ")
    settings = Settings.from_env()
    assert settings == Settings(storage_url=settings.storage_url, signing_keys=None)


def test_log_level_is_read_case_blind_and_checked(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RECSYS_LOG_LEVEL", "warning")
    assert Settings.from_env().log_level == logging.WARNING
    clean_env.setenv("RECSYS_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match=r"^RECSYS_LOG_LEVEL='loud' is invalid: use DEBUG"):
        Settings.from_env()


def test_api_key_errors_keep_their_own_message_and_hide_the_key(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("RECSYS_API_KEYS", f"web:acme:{SECRET}")
    with pytest.raises(ConfigError, match=r"^RECSYS_API_KEYS entry #1 \(web\): third field") as e:
        Settings.from_env()
    assert SECRET not in str(e.value)


def test_signals_dsn_is_read_but_never_shown(clean_env: pytest.MonkeyPatch) -> None:
    dsn = f"postgresql://recsys:{SECRET}@db:5432/recsys"
    clean_env.setenv("RECSYS_SIGNALS_DSN", dsn)
    settings = Settings.from_env()
    assert settings.signals_dsn == dsn
    assert SECRET not in repr(settings) and SECRET not in repr(ServiceEnv.load())
