"""Landing sensors: scope registration, change detection with a cursor, runs that re-publish."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from recsys_algo.config import LANDING_LOOKBACK_ENV
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import parse_scope_key
from recsys_algo.store import registry
from recsys_pipelines.definitions import DAILY_JOB, daily_partition
from recsys_pipelines.defs.automation.sensors import landing_scopes
from recsys_pipelines.defs.automation.settings import SCOPE_TAG, TRIGGER_TAG
from recsys_pipelines.defs.automation.wiring import build_automation
from recsys_pipelines.defs.partitions import SCOPES_PARTITION
from recsys_pipelines.runner import register_scope
from tests.pipelines.automation_fixtures import (
    SCOPE,
    auto_env,
    set_clock,
    shared_instance,
    storage_resource,
)
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines
from tests.support.builders import publish_popularity

__all__ = ["auto_env", "shared_instance"]  # fixtures, imported for pytest

DAY1 = DAY0 + dt.timedelta(days=1)
# Well past both days' 06:00 schedule ticks.
LATER = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)


def landing_sensor() -> dg.SensorDefinition:
    sensors = build_automation(daily_partition).sensors
    return next(s for s in sensors if s.name == "landing_files")


def tick(env: Env, sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=env.instance, cursor=cursor, resources={"storage": storage_resource(env)}
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def partitions_of(result: dg.SensorResult) -> list[tuple[str, str]]:
    keys = [r.partition_key for r in result.run_requests or []]
    return [(k.keys_by_dimension["date"], k.keys_by_dimension["scope"]) for k in keys]  # type: ignore[union-attr]


def write(env: Env, day: dt.date, name: str = "events.jsonl", n: int = 60, offset: int = 0) -> None:
    env.write_day(day, event_lines(day, n, offset=offset), name=name)


def baseline(env: Env, monkeypatch: pytest.MonkeyPatch) -> tuple[dg.SensorDefinition, str]:
    write(env, DAY0)
    write(env, DAY1)
    set_clock(monkeypatch, LATER)
    sensor = landing_sensor()
    first = tick(env, sensor, None)
    assert not first.run_requests
    assert "first tick: recorded 2 landing partitions" in str(first.skip_reason)
    assert first.cursor is not None
    return sensor, first.cursor


def test_cursor_prevents_duplicate_runs(auto_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    sensor, cursor = baseline(auto_env, monkeypatch)
    again = tick(auto_env, sensor, cursor)
    assert not again.run_requests
    assert "no new or changed landing files" in str(again.skip_reason)
    write(auto_env, DAY1, name="late.jsonl")
    changed = tick(auto_env, sensor, again.cursor)
    assert partitions_of(changed) == [(DAY1.isoformat(), SCOPE)]
    # The same files seen again: nothing with the new cursor, the same run_key with the old one.
    assert not tick(auto_env, sensor, changed.cursor).run_requests
    replay = tick(auto_env, sensor, again.cursor)
    assert [r.run_key for r in replay.run_requests or []] == [
        r.run_key for r in changed.run_requests or []
    ]


def test_late_file_for_an_old_day_requests_exactly_that_partition(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor, cursor = baseline(auto_env, monkeypatch)
    write(auto_env, DAY0, name="late-batch.jsonl", n=10)
    result = tick(auto_env, sensor, cursor)
    assert partitions_of(result) == [(DAY0.isoformat(), SCOPE)]
    request = (result.run_requests or [])[0]
    assert request.tags[SCOPE_TAG] == SCOPE
    assert request.tags[TRIGGER_TAG] == "landing"
    assert request.run_key is not None and request.run_key.startswith(f"landing:{SCOPE}:")


def test_rewritten_file_with_the_same_name_triggers_its_day_again(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor, cursor = baseline(auto_env, monkeypatch)
    write(auto_env, DAY0, offset=5)  # same key, other bytes
    assert partitions_of(tick(auto_env, sensor, cursor)) == [(DAY0.isoformat(), SCOPE)]


def test_beyond_the_lookback_only_new_names_count(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LANDING_LOOKBACK_ENV, "3")  # DAY0 and DAY1 are 8-9 days before LATER
    sensor, cursor = baseline(auto_env, monkeypatch)
    write(auto_env, DAY0, offset=5)
    rewritten = tick(auto_env, sensor, cursor)
    assert not rewritten.run_requests
    write(auto_env, DAY0, name="second.jsonl")
    assert partitions_of(tick(auto_env, sensor, rewritten.cursor)) == [(DAY0.isoformat(), SCOPE)]


def test_files_before_the_days_schedule_tick_are_left_to_the_schedule(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor, cursor = baseline(auto_env, monkeypatch)
    today = LATER.date()
    yesterday = today - dt.timedelta(days=1)
    set_clock(monkeypatch, dt.datetime.combine(today, dt.time(5, 59), tzinfo=dt.UTC))
    write(auto_env, yesterday)
    early = tick(auto_env, sensor, cursor)
    assert not early.run_requests  # the 06:00 schedule run will read it
    set_clock(monkeypatch, dt.datetime.combine(today, dt.time(7), tzinfo=dt.UTC))
    assert not tick(auto_env, sensor, early.cursor).run_requests
    write(auto_env, yesterday, name="after-the-tick.jsonl")
    late = tick(auto_env, sensor, early.cursor)
    assert partitions_of(late) == [(yesterday.isoformat(), SCOPE)]


def test_unregistered_scope_waits_for_registration(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor, cursor = baseline(auto_env, monkeypatch)
    key = f"raw/{TENANT}/search/{DAY0.isoformat()}/events.jsonl"
    auto_env.storage.write_bytes(key, ("\n".join(event_lines(DAY0, 5)) + "\n").encode())
    waiting = tick(auto_env, sensor, cursor)
    assert not waiting.run_requests
    assert f"waiting for landing_scopes to register {TENANT}.search" in str(waiting.skip_reason)
    register_scope(auto_env.instance, TENANT, "search")
    ready = tick(auto_env, sensor, waiting.cursor)
    assert partitions_of(ready) == [(DAY0.isoformat(), f"{TENANT}.search")]


def test_a_corrupt_cursor_is_a_clear_error(auto_env: Env) -> None:
    with pytest.raises(ConfigError, match="reset the cursor in the UI"):
        tick(auto_env, landing_sensor(), "v1:not-base64-zlib")


def test_new_landing_folder_registers_its_scope(auto_env: Env) -> None:
    auto_env.storage.write_bytes(f"raw/globex/feed/{DAY0.isoformat()}/a.jsonl", b"{}\n")
    context = dg.build_sensor_context(
        instance=auto_env.instance, resources={"storage": storage_resource(auto_env)}
    )
    result = landing_scopes(context)
    assert isinstance(result, dg.SensorResult)
    requests = result.dynamic_partitions_requests or []
    assert len(requests) == 1
    assert isinstance(requests[0], dg.AddDynamicPartitionsRequest)
    assert requests[0].partitions_def_name == SCOPES_PARTITION
    assert list(requests[0].partition_keys) == ["globex.feed"]  # acme.home is known already
    assert "registered globex.feed" in str(result.skip_reason)


@pytest.mark.parametrize("cursor", [None, "not json", '{"a": 1}'])
def test_bad_folder_name_is_skipped_with_a_message(auto_env: Env, cursor: str | None) -> None:
    day = DAY0.isoformat()
    auto_env.storage.write_bytes(f"raw/Bad Tenant/home/{day}/a.jsonl", b"{}\n")
    auto_env.storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{day}/a.jsonl", b"{}\n")
    context = dg.build_sensor_context(
        instance=auto_env.instance,
        cursor=cursor,
        resources={"storage": storage_resource(auto_env)},
    )
    result = landing_scopes(context)
    assert isinstance(result, dg.SensorResult)
    assert not result.dynamic_partitions_requests
    message = str(result.skip_reason)
    assert "skipped invalid folders: raw/Bad Tenant/home/" in message
    assert "names must match" in message
    assert result.cursor == '["raw/Bad Tenant/home/"]'  # logged once, not on every tick
    assert auto_env.instance.get_dynamic_partitions(SCOPES_PARTITION) == [SCOPE]


def test_late_older_day_rerun_records_history_and_keeps_the_newer_day_serving(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor, cursor = baseline(auto_env, monkeypatch)
    # DAY1 serves (a real signed manifest; its contents do not matter to DAY0's rerun).
    newest = publish_popularity(
        auto_env.storage, auto_env.keys, as_of=DAY1, tenant=TENANT, surface=SURFACE
    ).manifest
    write(auto_env, DAY0, name="late.jsonl", n=30, offset=3)
    [request] = tick(auto_env, sensor, cursor).run_requests or []
    # What the daemon does with the request: the daily job for that partition, with its tags.
    job = auto_env.definitions().resolve_job_def(DAILY_JOB)
    result = job.execute_in_process(
        instance=auto_env.instance,
        partition_key=str(request.partition_key),
        tags=request.tags,
    )
    assert result.success
    [published] = result.asset_materializations_for_node("manifest")
    assert published.metadata["serving"].value is False
    current = registry.read_current(auto_env.storage, auto_env.keys, TENANT, SURFACE)
    assert current is not None and current.manifest.manifest_version == newest.manifest_version
    versions = {
        e.manifest.manifest_version: e.manifest.as_of
        for e in registry.history(auto_env.storage, auto_env.keys, TENANT, SURFACE)
    }
    assert versions[str(published.metadata["manifest_version"].value)] == DAY0.isoformat()
    assert parse_scope_key(request.tags[SCOPE_TAG]) == (TENANT, SURFACE)


def test_landing_sensor_skips_bad_folders_and_keys_without_failing(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor, cursor = baseline(auto_env, monkeypatch)
    day = DAY0.isoformat()
    auto_env.storage.write_bytes(f"raw/Bad Tenant/home/{day}/a.jsonl", b"{}\n")
    auto_env.storage.write_bytes(f"raw/{TENANT}/{SURFACE}/20261101/a.jsonl", b"{}\n")
    auto_env.storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{day}/notes.txt", b"x\n")
    result = tick(auto_env, sensor, cursor)
    assert not result.run_requests  # nothing valid changed
    auto_env.storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{day}/b.jsonl", b"{}\n")
    assert partitions_of(tick(auto_env, sensor, result.cursor)) == [(day, SCOPE)]


def test_a_tenant_past_the_surface_limit_gets_no_more_scopes(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECSYS_MAX_SURFACES", "3")  # acme.home is registered already
    for tenant, surface in [(TENANT, f"s{n}") for n in range(5)] + [("globex", "feed")]:
        auto_env.storage.write_bytes(f"raw/{tenant}/{surface}/{DAY0.isoformat()}/a.jsonl", b"{}\n")
    context = dg.build_sensor_context(
        instance=auto_env.instance, resources={"storage": storage_resource(auto_env)}
    )
    result = landing_scopes(context)
    assert isinstance(result, dg.SensorResult)
    [request] = result.dynamic_partitions_requests or []
    assert isinstance(request, dg.AddDynamicPartitionsRequest)
    assert list(request.partition_keys) == ["acme.s0", "acme.s1", "globex.feed"]
    message = str(result.skip_reason)
    assert "raw/acme/s2/" in message and "raw/acme/s4/" in message
    assert "RECSYS_MAX_SURFACES" in message
