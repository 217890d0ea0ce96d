from __future__ import annotations

from pathlib import Path

import pytest

from recsys_algo import config
from recsys_algo.contracts.errors import ConfigError
from tests.support.builders import OTHER_SIGNING_SPEC, SIGNING_SPEC


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (config.STORAGE_URL_ENV, config.SIGNING_KEYS_ENV, config.SIGNING_KEYS_FILE_ENV):
        monkeypatch.delenv(name, raising=False)


def test_storage_url_defaults_to_dot_recsys_in_cwd(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert config.storage_url_from_env() == (tmp_path / ".recsys").resolve().as_uri()
    monkeypatch.setenv(config.STORAGE_URL_ENV, "file:///srv/recsys")
    assert config.storage_url_from_env() == "file:///srv/recsys"


def test_keys_from_variable_take_precedence_over_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(OTHER_SIGNING_SPEC + "\n")
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(key_file))
    keys = config.signing_keys_from_env()
    assert keys is not None and keys.key_ids == ("other-kid",)
    monkeypatch.setenv(config.SIGNING_KEYS_ENV, SIGNING_SPEC)
    keys = config.signing_keys_from_env()
    assert keys is not None and keys.key_ids == ("test-kid",)


def test_missing_keys_raise_or_return_none() -> None:
    with pytest.raises(ConfigError, match="no signing keys: set RECSYS_SIGNING_KEYS"):
        config.signing_keys_from_env()
    assert config.signing_keys_from_env(required=False) is None


def test_unreadable_key_file_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot read"):
        config.signing_keys_from_env()


def test_malformed_key_file_does_not_echo_its_content(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("k1:" + "ab" * 31)
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(key_file))
    with pytest.raises(ConfigError) as info:
        config.signing_keys_from_env()
    assert "abab" not in str(info.value)


# --- S3 settings ---------------------------------------------------------------------------------

S3_OK = {config.S3_ACCESS_KEY_ENV: "AKID", config.S3_SECRET_KEY_ENV: "s3cr3t-value"}


def test_s3_settings_default_to_aws_over_tls_without_region() -> None:
    settings = config.s3_settings_from_env(S3_OK)
    assert settings == config.S3Settings("s3.amazonaws.com", "AKID", "s3cr3t-value", None, True)
    assert "s3cr3t-value" not in repr(settings)


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("127.0.0.1:9000", "false", ("127.0.0.1:9000", False)),
        ("minio.internal:9000", "", ("minio.internal:9000", True)),
        ("http://127.0.0.1:8333", "", ("127.0.0.1:8333", False)),
        ("https://s3.example.com/", "", ("s3.example.com", True)),
        ("https://s3.example.com", "yes", ("s3.example.com", True)),
        ("[::1]:9000", "0", ("[::1]:9000", False)),
    ],
)
def test_s3_endpoint_and_tls_are_parsed(
    endpoint: str, secure: str, expected: tuple[str, bool]
) -> None:
    env = {**S3_OK, config.S3_ENDPOINT_ENV: endpoint, config.S3_SECURE_ENV: secure}
    settings = config.s3_settings_from_env(env)
    assert (settings.endpoint, settings.secure) == expected


def test_s3_region_is_read_and_validated() -> None:
    env = {**S3_OK, config.S3_REGION_ENV: "eu-west-1"}
    assert config.s3_settings_from_env(env).region == "eu-west-1"
    with pytest.raises(ConfigError, match=r"RECSYS_S3_REGION='EU West' is invalid"):
        config.s3_settings_from_env({**S3_OK, config.S3_REGION_ENV: "EU West"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({config.S3_SECRET_KEY_ENV: "s3cr3t-value"}, r"RECSYS_S3_ACCESS_KEY is not set \("),
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
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        config.s3_settings_from_env(env)
    assert "s3cr3t-value" not in str(info.value)


def test_s3_endpoint_with_credentials_is_not_echoed() -> None:
    env = {**S3_OK, config.S3_ENDPOINT_ENV: "http://user:hunter2@host:9000"}
    with pytest.raises(ConfigError, match=r"RECSYS_S3_ENDPOINT=.*value hidden") as info:
        config.s3_settings_from_env(env)
    assert "hunter2" not in str(info.value)


def test_s3_settings_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.S3_ACCESS_KEY_ENV, "AKID")
    monkeypatch.setenv(config.S3_SECRET_KEY_ENV, "x")
    monkeypatch.setenv(config.S3_ENDPOINT_ENV, "localhost:9000")
    assert config.s3_settings_from_env().endpoint == "localhost:9000"
