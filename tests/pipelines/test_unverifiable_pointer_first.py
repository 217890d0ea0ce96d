"""A pointer that does not verify blocks publishing; a run finds out before computing anything,
from the CLI and from a Dagster run alike."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_pipelines.cli import main
from recsys_pipelines.runner import StepFailure
from tests.pipelines.conftest import (
    DAY0,
    KEY_SPEC,
    SMALL_DATA_PARAMS,
    SURFACE,
    TENANT,
    Env,
    event_lines,
)
from tests.support.builders import publish_popularity

UNKNOWN_KEY = "rotated-away:" + "ef" * 32


def sign_pointer_with_an_unknown_key(env: Env) -> None:
    """What serves was signed with a key this environment does not know (a rotation gone wrong)."""
    publish_popularity(
        env.storage, parse_signing_keys(UNKNOWN_KEY), tenant=TENANT, surface=SURFACE, as_of=DAY0
    )


def computed(env: Env) -> list[str]:
    return env.storage.list("staging") + env.storage.list("canonical")


def test_materialize_exits_5_before_computing_when_the_pointer_does_not_verify(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECSYS_STORAGE_URL", env.storage.url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", KEY_SPEC)
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    monkeypatch.setenv("RECSYS_MODEL_PARAMS", SMALL_DATA_PARAMS)
    day = DAY0 + dt.timedelta(days=1)
    env.write_day(day, event_lines(day, 60))
    sign_pointer_with_an_unknown_key(env)
    result = CliRunner().invoke(
        main, ["materialize", "--tenant", TENANT, "--surface", SURFACE, "--date", day.isoformat()]
    )
    assert result.exit_code == 5, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unknown key id 'rotated-away'" in lines[0], result.output
    assert "nothing was computed" in lines[0] and "recsys rollback --to" in lines[0]
    assert computed(env) == []


def test_a_dagster_run_fails_in_its_first_step_when_the_pointer_does_not_verify(env: Env) -> None:
    day = DAY0 + dt.timedelta(days=1)
    env.write_day(day, event_lines(day, 60))
    sign_pointer_with_an_unknown_key(env)
    with pytest.raises((ArtifactError, StepFailure), match="unknown key id 'rotated-away'"):
        env.run(day)
    assert computed(env) == []
