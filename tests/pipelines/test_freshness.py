"""Serving-manifest freshness: passes within 48 h of publishing, fails after, not blocking."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from recsys_algo.config import FRESHNESS_MAX_AGE_ENV
from recsys_algo.contracts import layout
from recsys_pipelines.definitions import DAILY_JOB, defs
from recsys_pipelines.defs.automation.checks import FRESHNESS_JOB, MANIFEST_FRESH, manifest_fresh
from recsys_pipelines.runner import register_scope
from tests.pipelines.automation_fixtures import auto_env, set_clock, shared_instance
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env
from tests.support.builders import publish_popularity

__all__ = ["auto_env", "shared_instance"]  # fixtures, imported for pytest

PUBLISHED = dt.datetime(2026, 11, 2, 6, 30, tzinfo=dt.UTC)


def evaluate(env: Env) -> dg.AssetCheckEvaluation:
    """Run the freshness job (check only) as the hourly schedule would."""
    job = env.definitions().resolve_job_def(FRESHNESS_JOB)
    result = job.execute_in_process(instance=env.instance)
    assert result.success  # a failing check fails no run: it is not blocking
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == MANIFEST_FRESH
    return evaluation


def publish(env: Env, moment: dt.datetime = PUBLISHED, surface: str = SURFACE) -> str:
    outcome = publish_popularity(
        env.storage, env.keys, tenant=TENANT, surface=surface, as_of=DAY0, now=moment
    )
    return outcome.manifest.manifest_version


def test_fresh_manifest_passes(auto_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(auto_env)
    set_clock(monkeypatch, PUBLISHED + dt.timedelta(hours=47, minutes=59))
    evaluation = evaluate(auto_env)
    assert evaluation.passed
    assert evaluation.description == "all 1 scopes within 48 h"
    scopes = evaluation.metadata["scopes"].value
    assert scopes["acme.home"]["age_hours"] == 48.0  # 47:59 rounded to a tenth


def test_old_manifest_fails_naming_scope_version_and_age(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = publish(auto_env)
    register_scope(auto_env.instance, TENANT, "search")  # registered, never published: not stale
    set_clock(monkeypatch, PUBLISHED + dt.timedelta(hours=50))
    evaluation = evaluate(auto_env)
    assert not evaluation.passed
    assert evaluation.description == (
        f"stale: {TENANT}/{SURFACE}: serving {version} (as_of {DAY0.isoformat()}) "
        "published 50.0 h ago, over the 48 h limit"
    )
    assert evaluation.metadata["stale_scopes"].value == ["acme.home"]
    assert evaluation.metadata["scopes"].value["acme.search"]["message"] == (
        f"{TENANT}/search: nothing published yet"
    )


def test_max_age_comes_from_the_environment(auto_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(auto_env)
    set_clock(monkeypatch, PUBLISHED + dt.timedelta(hours=30))
    assert evaluate(auto_env).passed
    monkeypatch.setenv(FRESHNESS_MAX_AGE_ENV, "24")
    assert not evaluate(auto_env).passed


def test_a_pointer_that_does_not_verify_fails_the_check(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(auto_env)
    key = layout.pointer_key(TENANT, SURFACE)
    auto_env.storage.write_bytes(key, auto_env.storage.read_bytes(key).replace(b"2026", b"2027"))
    set_clock(monkeypatch, PUBLISHED + dt.timedelta(hours=1))
    evaluation = evaluate(auto_env)
    assert not evaluation.passed
    assert "acme/home: serving manifest unreadable" in str(evaluation.description)


def test_freshness_check_is_not_blocking_and_not_part_of_the_daily_job() -> None:
    [spec] = manifest_fresh.check_specs
    assert not spec.blocking
    graph = defs.resolve_asset_graph()
    assert manifest_fresh.check_keys <= graph.asset_check_keys
    daily = defs.resolve_job_def(DAILY_JOB)
    assert all(not n.startswith(MANIFEST_FRESH) for n in daily.graph.node_names())
