"""The daily schedule: yesterday for every registered scope, stable run keys, configurable hour."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from recsys_algo.config import SCHEDULE_HOUR_ENV
from recsys_algo.contracts.errors import ConfigError
from recsys_pipelines.definitions import DAILY_JOB, daily_partition, defs
from recsys_pipelines.defs.automation.schedules import DAILY_SCHEDULE
from recsys_pipelines.defs.automation.settings import SCOPE_TAG, TRIGGER_TAG
from recsys_pipelines.defs.automation.wiring import build_automation
from recsys_pipelines.runner import register_scope
from tests.pipelines.automation_fixtures import SCOPE, auto_env, shared_instance
from tests.pipelines.conftest import TENANT, Env

__all__ = ["auto_env", "shared_instance"]  # fixtures, imported for pytest

TICK = dt.datetime(2026, 11, 23, 6, tzinfo=dt.UTC)


def evaluate(env: Env, moment: dt.datetime) -> list[dg.RunRequest] | dg.SkipReason:
    schedule = defs.resolve_schedule_def(DAILY_SCHEDULE)
    context = dg.build_schedule_context(instance=env.instance, scheduled_execution_time=moment)
    result = schedule(context)
    assert isinstance(result, list | dg.SkipReason)
    return result


def test_schedule_requests_one_run_per_registered_scope_for_yesterday(auto_env: Env) -> None:
    register_scope(auto_env.instance, TENANT, "search")
    register_scope(auto_env.instance, "globex", "feed")
    requests = evaluate(auto_env, TICK)
    assert isinstance(requests, list)
    scopes = ["acme.home", "globex.feed", "acme.search"]  # each tenant's first, then second
    assert [str(r.partition_key) for r in requests] == [f"2026-11-22|{s}" for s in scopes]
    assert [r.tags[SCOPE_TAG] for r in requests] == scopes
    assert all(r.tags[TRIGGER_TAG] == "schedule" for r in requests)
    # A retried tick yields the same run keys, which Dagster launches only once.
    again = evaluate(auto_env, TICK + dt.timedelta(minutes=3))
    assert isinstance(again, list)
    assert [r.run_key for r in again] == [f"daily:{s}:2026-11-22" for s in scopes]
    assert [r.run_key for r in again] == [r.run_key for r in requests]


def test_a_tenant_with_many_surfaces_never_pushes_another_tenants_run_back(
    auto_env: Env,
) -> None:
    for n in range(40):
        register_scope(auto_env.instance, TENANT, f"s{n:02d}")
    register_scope(auto_env.instance, "zeta", "home")
    register_scope(auto_env.instance, "beta", "feed")
    register_scope(auto_env.instance, "beta", "home")
    requests = evaluate(auto_env, TICK)
    assert isinstance(requests, list) and len(requests) == 44
    order = [r.tags[SCOPE_TAG] for r in requests]
    # Round one: every tenant's first scope; round two: every tenant's second; then acme alone.
    assert order[:3] == ["acme.home", "beta.feed", "zeta.home"]
    assert order[3:5] == ["acme.s00", "beta.home"]
    assert order[5:] == [f"acme.s{n:02d}" for n in range(1, 40)]


def test_schedule_partition_keys_are_valid_for_the_daily_job(auto_env: Env) -> None:
    requests = evaluate(auto_env, TICK)
    assert isinstance(requests, list) and len(requests) == 1
    job = defs.resolve_job_def(DAILY_JOB)
    assert job.partitions_def is not None
    keys = job.partitions_def.get_partition_keys(
        current_time=TICK, dynamic_partitions_store=auto_env.instance
    )
    assert str(requests[0].partition_key) in keys
    assert requests[0].tags[SCOPE_TAG] == SCOPE


def test_schedule_without_scopes_skips_saying_how_to_register(auto_env: Env) -> None:
    auto_env.instance.delete_dynamic_partition("scopes", SCOPE)
    result = evaluate(auto_env, TICK)
    assert isinstance(result, dg.SkipReason)
    assert "landing_scopes" in str(result.skip_message)


def test_schedule_hour_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert defs.resolve_schedule_def(DAILY_SCHEDULE).cron_schedule == "0 6 * * *"
    monkeypatch.setenv(SCHEDULE_HOUR_ENV, "3")
    [schedule, _] = build_automation(daily_partition).schedules
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "UTC"
    monkeypatch.setenv(SCHEDULE_HOUR_ENV, "24")
    with pytest.raises(ConfigError, match=f"{SCHEDULE_HOUR_ENV}='24' is invalid: input"):
        build_automation(daily_partition)
