"""The landing sensors on a real S3 server: same code as file://, fingerprints from ETags."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from recsys_pipelines.definitions import daily_partition
from recsys_pipelines.defs.automation import clock
from recsys_pipelines.defs.automation.sensors import landing_scopes
from recsys_pipelines.defs.automation.wiring import build_automation
from recsys_pipelines.defs.resources import StorageResource
from recsys_pipelines.runner import register_scope

DAY0, DAY1 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def _scope_keys(result: dg.SensorResult) -> list[str]:
    return [str(r.partition_key) for r in result.run_requests or []]


def test_landing_sensors_on_s3_register_scopes_and_rerun_changed_days(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: dt.datetime(2026, 11, 10, tzinfo=dt.UTC))
    resource = StorageResource(url=s3_env)
    storage = resource.open()
    for day in (DAY0, DAY1):
        storage.write_bytes(f"raw/acme/home/{day}/events.jsonl", b'{"a": 1}\n')
    storage.write_bytes(f"raw/Acme/home/{DAY0}/events.jsonl", b"{}\n")
    sensor = next(s for s in build_automation(daily_partition).sensors if s.name == "landing_files")
    with dg.instance_for_test(set_dagster_home=False) as instance:

        def tick(definition: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult:
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"storage": resource}
            )
            result = definition(context)
            assert isinstance(result, dg.SensorResult)
            return result

        scopes = tick(landing_scopes, None)
        [request] = scopes.dynamic_partitions_requests or []
        assert list(request.partition_keys or []) == ["acme.home"]
        assert "skipped invalid folders: raw/Acme/home/" in str(scopes.skip_reason)
        register_scope(instance, "acme", "home")  # what the daemon does with the request

        first = tick(sensor, None)
        assert not first.run_requests
        assert not tick(sensor, first.cursor).run_requests
        storage.write_bytes(f"raw/acme/home/{DAY0}/events.jsonl", b'{"a": 2}\n')  # new ETag
        rewritten = tick(sensor, first.cursor)
        assert _scope_keys(rewritten) == [f"{DAY0}|acme.home"]
        storage.write_bytes(f"raw/acme/home/{DAY1}/late.jsonl", b'{"b": 1}\n')
        assert _scope_keys(tick(sensor, rewritten.cursor)) == [f"{DAY1}|acme.home"]
