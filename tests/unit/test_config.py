"""The settings layer: variables by exact name, blank is unset, one error line hiding secrets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import Field

from recsys_algo import config
from recsys_algo.contracts.errors import ConfigError
from tests.support.builders import OTHER_SIGNING_SPEC, SIGNING_SPEC

SECRET = "s3cr3t-value"
VARIABLES = (
    config.STORAGE_URL_ENV,
    config.SIGNING_KEYS_ENV,
    config.SIGNING_KEYS_FILE_ENV,
    config.SIGNALS_DSN_ENV,
    config.MAX_SURFACES_ENV,
    config.MODEL_PARAMS_ENV,
    config.SCHEDULE_HOUR_ENV,
    config.FRESHNESS_MAX_AGE_ENV,
    config.LANDING_LOOKBACK_ENV,
    config.FIRST_DAY_ENV,
    config.S3_ENDPOINT_ENV,
    config.S3_ACCESS_KEY_ENV,
    config.S3_SECRET_KEY_ENV,
    config.S3_REGION_ENV,
    config.S3_SECURE_ENV,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_every_variable_keeps_its_name() -> None:
    # Spelled out: deployments set these names, so renaming one is a breaking change.
    read = {cls.variable(f) for cls in (config.PipelineEnv, config.S3Env) for f in cls.model_fields}
    assert (
        read
        == set(VARIABLES)
        == {
            "RECSYS_STORAGE_URL",
            "RECSYS_SIGNING_KEYS",
            "RECSYS_SIGNING_KEYS_FILE",
            "RECSYS_SIGNALS_DSN",
            "RECSYS_MAX_SURFACES",
            "RECSYS_MODEL_PARAMS",
            "RECSYS_SCHEDULE_HOUR_UTC",
            "RECSYS_FRESHNESS_MAX_AGE_HOURS",
            "RECSYS_LANDING_LOOKBACK_DAYS",
            "RECSYS_FIRST_DAY",
            "RECSYS_S3_ENDPOINT",
            "RECSYS_S3_ACCESS_KEY",
            "RECSYS_S3_SECRET_KEY",
            "RECSYS_S3_REGION",
            "RECSYS_S3_SECURE",
        }
    )


def test_unset_and_blank_variables_take_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(config.SCHEDULE_HOUR_ENV, "  ")
    monkeypatch.setenv(config.SIGNALS_DSN_ENV, "")
    env = config.PipelineEnv.load()
    assert env.storage_url == (tmp_path / ".recsys").resolve().as_uri()
    assert (env.signals_dsn, env.model_params) == ("", "")
    assert (env.schedule_hour_utc, env.freshness_max_age_hours, env.landing_lookback_days) == (
        6,
        48,
        35,
    )
    assert env.first_day == config.DEFAULT_FIRST_DAY == dt.date(2026, 1, 1)
    assert not any(env.is_set(field) for field in config.PipelineEnv.model_fields)


def test_set_variables_are_read_stripped_and_marked_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {
            config.STORAGE_URL_ENV: "file:///srv/recsys",
            config.SIGNALS_DSN_ENV: " postgresql://db/recsys ",
            config.SCHEDULE_HOUR_ENV: "3",
            config.LANDING_LOOKBACK_ENV: "0",
            config.FIRST_DAY_ENV: " 1996-03-29 ",
        },
    )
    env = config.PipelineEnv.load()
    assert (env.storage_url, env.signals_dsn) == ("file:///srv/recsys", "postgresql://db/recsys")
    assert (env.schedule_hour_utc, env.landing_lookback_days) == (3, 0)
    assert env.first_day == dt.date(1996, 3, 29)
    assert {f for f in config.PipelineEnv.model_fields if env.is_set(f)} == {
        "storage_url",
        "signals_dsn",
        "schedule_hour_utc",
        "landing_lookback_days",
        "first_day",
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (config.SCHEDULE_HOUR_ENV, "24", "RECSYS_SCHEDULE_HOUR_UTC='24' is invalid: input should"),
        (config.SCHEDULE_HOUR_ENV, "six", "RECSYS_SCHEDULE_HOUR_UTC='six' is invalid: input"),
        (config.FRESHNESS_MAX_AGE_ENV, "0", "RECSYS_FRESHNESS_MAX_AGE_HOURS='0' is invalid"),
        (config.LANDING_LOOKBACK_ENV, "-1", "RECSYS_LANDING_LOOKBACK_DAYS='-1' is invalid"),
        (config.FIRST_DAY_ENV, "20260101", "RECSYS_FIRST_DAY='20260101' is invalid: use a date"),
        (config.FIRST_DAY_ENV, "2026-02-30", "RECSYS_FIRST_DAY='2026-02-30' is invalid: use a"),
        (
            config.FIRST_DAY_ENV,
            "1969-12-31",
            "RECSYS_FIRST_DAY='1969-12-31' is invalid: use a date on",
        ),
        (
            config.FIRST_DAY_ENV,
            "2999-01-01",
            "RECSYS_FIRST_DAY='2999-01-01' is invalid: use a date that",
        ),
    ],
)
def test_a_wrong_knob_is_one_config_error_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as info:
        config.PipelineEnv.load()
    assert "\n" not in str(info.value)


def test_every_wrong_variable_is_named_in_the_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {config.SCHEDULE_HOUR_ENV: "99", config.LANDING_LOOKBACK_ENV: "x"})
    with pytest.raises(ConfigError) as info:
        config.PipelineEnv.load()
    message = str(info.value)
    assert "RECSYS_SCHEDULE_HOUR_UTC='99'" in message
    assert "RECSYS_LANDING_LOOKBACK_DAYS='x'" in message
    assert "\n" not in message


# --- signing keys ---------------------------------------------------------------------------


def test_keys_from_variable_take_precedence_over_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(OTHER_SIGNING_SPEC + "\n")
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(key_file))
    assert config.SharedEnv.load().signing_keys().key_ids == ("other-kid",)
    monkeypatch.setenv(config.SIGNING_KEYS_ENV, SIGNING_SPEC)
    assert config.SharedEnv.load().signing_keys().key_ids == ("test-kid",)


def test_missing_keys_raise_or_are_none_when_optional() -> None:
    env = config.SharedEnv.load()
    with pytest.raises(ConfigError, match=r"no signing keys: set RECSYS_SIGNING_KEYS=.* or RECS"):
        env.signing_keys()
    assert env.optional_signing_keys() is None


def test_unreadable_key_file_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"RECSYS_SIGNING_KEYS_FILE=.*missing: cannot read"):
        config.SharedEnv.load().signing_keys()


def test_malformed_key_file_does_not_echo_its_content(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("k1:" + "ab" * 31)
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(key_file))
    with pytest.raises(ConfigError) as info:
        config.SharedEnv.load().signing_keys()
    assert "abab" not in str(info.value)


def test_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {
            config.SIGNING_KEYS_ENV: SIGNING_SPEC,
            config.SIGNALS_DSN_ENV: f"postgresql://u:{SECRET}@db/x",
        },
    )
    shown = repr(config.SharedEnv.load())
    assert SIGNING_SPEC.split(":")[1] not in shown
    assert SECRET not in shown


# --- S3 settings ----------------------------------------------------------------------------

S3_OK = {config.S3_ACCESS_KEY_ENV: "AKID", config.S3_SECRET_KEY_ENV: SECRET}


def test_s3_settings_default_to_aws_over_tls_without_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch, S3_OK)
    settings = config.S3Env.load()
    assert (settings.host, settings.tls, settings.region) == ("s3.amazonaws.com", True, None)
    assert (settings.access_key, settings.secret_key) == ("AKID", SECRET)
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("127.0.0.1:9000", "false", ("127.0.0.1:9000", False)),
        ("minio.internal:9000", "", ("minio.internal:9000", True)),
        ("http://127.0.0.1:8333", "", ("127.0.0.1:8333", False)),
        ("https://s3.example.com/", "", ("s3.example.com", True)),
        ("https://s3.example.com", "yes", ("s3.example.com", True)),
        ("[::1]:9000", "0", ("[::1]:9000", False)),
        ("http://127.0.0.1:8333", "off", ("127.0.0.1:8333", False)),
    ],
)
def test_s3_endpoint_and_tls_are_parsed(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, secure: str, expected: tuple[str, bool]
) -> None:
    set_env(monkeypatch, {**S3_OK, config.S3_ENDPOINT_ENV: endpoint, config.S3_SECURE_ENV: secure})
    settings = config.S3Env.load()
    assert (settings.host, settings.tls) == expected


def test_s3_region_is_read_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**S3_OK, config.S3_REGION_ENV: "eu-west-1"})
    assert config.S3Env.load().region == "eu-west-1"
    monkeypatch.setenv(config.S3_REGION_ENV, "EU West")
    with pytest.raises(ConfigError, match=r"RECSYS_S3_REGION='EU West' is invalid: use a region"):
        config.S3Env.load()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({config.S3_SECRET_KEY_ENV: SECRET}, r"RECSYS_S3_ACCESS_KEY is not set \("),
        ({config.S3_ACCESS_KEY_ENV: "AKID"}, r"RECSYS_S3_SECRET_KEY is not set \("),
        ({}, "RECSYS_S3_ACCESS_KEY is not set .*RECSYS_S3_SECRET_KEY is not set either"),
        ({**S3_OK, config.S3_SECURE_ENV: "maybe"}, "RECSYS_S3_SECURE='maybe' is invalid"),
        ({**S3_OK, config.S3_ENDPOINT_ENV: "host:99999"}, "RECSYS_S3_ENDPOINT=.* port 99999"),
        ({**S3_OK, config.S3_ENDPOINT_ENV: "host/path"}, "RECSYS_S3_ENDPOINT='host/path' is inv"),
        ({**S3_OK, config.S3_ENDPOINT_ENV: "ftp://host"}, "RECSYS_S3_ENDPOINT='ftp://host' is"),
        (
            {**S3_OK, config.S3_ENDPOINT_ENV: "https://h:1", config.S3_SECURE_ENV: "false"},
            "RECSYS_S3_SECURE=false contradicts the https:// in RECSYS_S3_ENDPOINT",
        ),
    ],
)
def test_bad_s3_settings_raise_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    set_env(monkeypatch, env)
    with pytest.raises(ConfigError, match=message) as info:
        config.S3Env.load()
    assert SECRET not in str(info.value)


def test_values_that_may_hold_credentials_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**S3_OK, config.S3_ENDPOINT_ENV: "http://user:hunter2@host:9000"})
    with pytest.raises(ConfigError, match=r"RECSYS_S3_ENDPOINT \(value not shown\) is inv") as info:
        config.S3Env.load()
    assert "hunter2" not in str(info.value)


class Probe(config.EnvSettings):
    """A settings class with one secret field that has a rule, as a future one might."""

    token: str = Field(default="", min_length=8, validation_alias="RECSYS_PROBE_TOKEN", repr=False)


def test_a_wrong_secret_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_PROBE_TOKEN", "hunter2")
    with pytest.raises(ConfigError, match=r"^RECSYS_PROBE_TOKEN \(value not shown\) is invalid: s"):
        Probe.load()
    monkeypatch.setenv("RECSYS_PROBE_TOKEN", "hunter2-and-more")
    assert Probe.load().token == "hunter2-and-more"
