"""A landing day no partition can hold (year 9999, before RECSYS_FIRST_DAY) never stops the
landing sensor: it is skipped and reported, and every other scope's new days still run; the
CLI answers such a day with exit 2 and one line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys_pipelines.cli import main
from recsys_pipelines.defs.partitions import FIRST_DAY, daily_partitions, partition_days
from recsys_pipelines.runner import register_scope
from tests.pipelines.automation_fixtures import auto_env, set_clock, shared_instance
from tests.pipelines.conftest import KEY_SPEC, Env, event_lines
from tests.pipelines.test_sensors import LATER, landing_sensor, partitions_of, tick, write

__all__ = ["auto_env", "shared_instance"]  # fixtures, imported for pytest

FAR_FUTURE = dt.date(9999, 12, 31)
BEFORE_FIRST = FIRST_DAY - dt.timedelta(days=1)
TOMORROW = LATER.date() + dt.timedelta(days=2)  # past the last partition (today, UTC)


def test_days_outside_the_partitions_are_reported_and_other_scopes_still_run(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_clock(monkeypatch, LATER)
    register_scope(auto_env.instance, "beta", "home")
    day = LATER.date() - dt.timedelta(days=1)
    write(auto_env, day)
    sensor = landing_sensor()
    cursor = tick(auto_env, sensor, None).cursor
    # One tenant writes days no partition holds; another tenant's new day lands meanwhile.
    for bad in (FAR_FUTURE, BEFORE_FIRST, TOMORROW):
        key = f"raw/acme/home/{bad.isoformat()}/svc-bad.jsonl"
        auto_env.storage.write_bytes(key, b'{"ts": 0, "item_id": "a"}\n')
    beta = f"raw/beta/home/{day.isoformat()}/events.jsonl"
    auto_env.storage.write_bytes(beta, ("\n".join(event_lines(day, 30)) + "\n").encode())
    result = tick(auto_env, sensor, cursor)
    assert partitions_of(result) == [(day.isoformat(), "beta.home")]
    # The cursor moved on: the next tick asks for nothing, and the bad days stay skipped.
    again = tick(auto_env, sensor, result.cursor)
    assert not again.run_requests
    assert "no new or changed landing files" in str(again.skip_reason)


def test_the_sensor_reports_each_unmappable_day_once(
    auto_env: Env, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    set_clock(monkeypatch, LATER)
    sensor = landing_sensor()
    cursor = tick(auto_env, sensor, None).cursor
    key = f"raw/acme/home/{FAR_FUTURE.isoformat()}/svc-bad.jsonl"
    auto_env.storage.write_bytes(key, b'{"ts": 0, "item_id": "a"}\n')
    capfd.readouterr()
    first = tick(auto_env, sensor, cursor)
    tick(auto_env, sensor, first.cursor)
    # The sensor's log (Dagster's console logger, on stderr here; the tick's log in the UI).
    warned = [line for line in capfd.readouterr().err.splitlines() if key in line]
    assert len(warned) == 1, warned
    assert "outside the partition range" in warned[0]
    assert FIRST_DAY.isoformat() in warned[0]


@pytest.mark.parametrize("day", [FAR_FUTURE, BEFORE_FIRST, dt.date.today() + dt.timedelta(days=3)])
def test_materialize_refuses_a_day_outside_the_partitions_with_exit_2(
    day: dt.date, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", KEY_SPEC)
    monkeypatch.setenv("RECSYS_STORAGE_URL", (tmp_path / "store").as_uri())
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    result = CliRunner().invoke(
        main, ["materialize", "--tenant", "acme", "--surface", "home", "--date", day.isoformat()]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert day.isoformat() in lines[0] and "outside the partition range" in lines[0]


def test_partition_days_are_the_daily_partitions_first_and_last() -> None:
    first, last = partition_days(dt.datetime.now(dt.UTC))
    assert first.isoformat() == daily_partitions.get_first_partition_key()
    assert last.isoformat() == daily_partitions.get_last_partition_key()
