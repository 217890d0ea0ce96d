from __future__ import annotations

from pathlib import Path

import pytest

from recsys_algo import config
from recsys_algo.errors import ConfigError
from recsys_algo.testing import OTHER_SIGNING_SPEC, SIGNING_SPEC


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
