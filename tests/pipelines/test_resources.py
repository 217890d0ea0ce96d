"""The code location's resources: an EnvVar for each variable set, the default for each unset."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from recsys_algo import config
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_pipelines.definitions import build_definitions
from recsys_pipelines.defs.resources import resources_from_env
from tests.pipelines.conftest import KEY_SPEC

RESOURCE_VARIABLES = (
    config.STORAGE_URL_ENV,
    config.SIGNING_KEYS_ENV,
    config.SIGNING_KEYS_FILE_ENV,
    config.MODEL_PARAMS_ENV,
    config.SIGNALS_DSN_ENV,
)
PARAMS = json.dumps({"evaluation": {"gate_margin": 0.25}})


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RESOURCE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing_keys"
    path.write_text(KEY_SPEC + "\n", encoding="utf-8")
    return path


def env_var_names(resource: dg.ConfigurableResource) -> dict[str, str]:  # type: ignore[type-arg]
    """field -> variable, for the fields the UI shows as environment variables."""
    return {
        field: value.env_var_name
        for field in type(resource).model_fields
        if isinstance(value := getattr(resource, field), dg.EnvVar)
    }


def test_variables_set_like_make_dev_show_as_env_vars_and_the_rest_as_defaults(
    monkeypatch: pytest.MonkeyPatch, key_file: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv(config.STORAGE_URL_ENV, (tmp_path / "store").as_uri())
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(key_file))
    monkeypatch.setenv(config.MODEL_PARAMS_ENV, PARAMS)
    resources = build_definitions().resources
    assert env_var_names(resources["storage"]) == {"url": "RECSYS_STORAGE_URL"}
    assert env_var_names(resources["signing"]) == {"key_file": "RECSYS_SIGNING_KEYS_FILE"}
    assert env_var_names(resources["settings"]) == {"model_params": "RECSYS_MODEL_PARAMS"}
    # Unset optional values are plain defaults: an EnvVar naming them would fail every run.
    assert resources["signing"].key_spec == ""
    assert resources["settings"].signals_dsn == ""


def test_unset_storage_url_is_the_dot_recsys_folder_of_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = resources_from_env().storage
    assert not isinstance(storage.url, dg.EnvVar)
    assert storage.url == (tmp_path / ".recsys").resolve().as_uri()


def test_env_vars_are_read_when_the_resources_are_built_for_a_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(config.STORAGE_URL_ENV, (tmp_path / "first").as_uri())
    monkeypatch.setenv(config.SIGNING_KEYS_ENV, KEY_SPEC)
    monkeypatch.setenv(config.SIGNALS_DSN_ENV, "postgresql://db/recsys")
    monkeypatch.setenv(config.MODEL_PARAMS_ENV, PARAMS)
    defaults = resources_from_env()
    monkeypatch.setenv(config.STORAGE_URL_ENV, (tmp_path / "second").as_uri())
    with dg.build_resources(defaults._asdict()) as built:
        assert built.storage.open().url == (tmp_path / "second").as_uri()
        assert built.signing.signing_keys().key_ids == parse_signing_keys(KEY_SPEC).key_ids
        assert built.settings.resolved_signals_dsn() == "postgresql://db/recsys"
        assert built.settings.params().evaluation.gate_margin == 0.25


def test_a_variable_gone_when_the_run_starts_fails_it_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, key_file: Path
) -> None:
    monkeypatch.setenv(config.SIGNING_KEYS_FILE_ENV, str(key_file))
    signing = resources_from_env().signing
    monkeypatch.delenv(config.SIGNING_KEYS_FILE_ENV)
    with (
        pytest.raises(
            dg.DagsterInvalidConfigError, match='"RECSYS_SIGNING_KEYS_FILE" which is not'
        ),
        dg.build_resources({"signing": signing}),
    ):
        pass


def test_no_signing_keys_fail_at_first_use_saying_how_to_give_them() -> None:
    with (
        dg.build_resources({"signing": resources_from_env().signing}) as built,
        pytest.raises(
            ConfigError,
            match=r"no signing keys: set RECSYS_SIGNING_KEYS=.* or RECSYS_SIGNING_KEYS_FILE",
        ),
    ):
        built.signing.signing_keys()
