"""`recsys materialize --start --end`: every day runs, one line each, the most serious exit code;
--fail-fast stops at the first day not published. Data conditions exit 3 or 4, never 5."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner, Result

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.store import registry
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import FileStorage
from recsys_pipelines.cli import main
from recsys_pipelines.defs.partitions import partition_key
from tests.pipelines.conftest import (
    DAY0,
    KEY_SPEC,
    SURFACE,
    TENANT,
    event_lines,
)

DAY1, DAY2 = DAY0 + dt.timedelta(days=1), DAY0 + dt.timedelta(days=2)


def land(store: FileStorage, day: dt.date, lines: list[str]) -> None:
    store.write_bytes(f"raw/{TENANT}/{SURFACE}/{day}/e.jsonl", ("\n".join(lines) + "\n").encode())


def materialize(*extra: str, start: dt.date = DAY0, end: dt.date = DAY2) -> Result:
    args = ["materialize", "--tenant", TENANT, "--surface", SURFACE]
    return CliRunner().invoke(main, [*args, "--start", str(start), "--end", str(end), *extra])


def published_days(store: FileStorage) -> list[str]:
    entries = registry.history(store, parse_signing_keys(KEY_SPEC), TENANT, SURFACE)
    return sorted(e.manifest.as_of for e in entries if e.manifest)


DAY_LINE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}  (published|held by gate|skipped|failed)")


def day_lines(result: Result) -> list[str]:
    """The one line per day (Dagster's own log lines are in the output too)."""
    return [line for line in result.output.splitlines() if DAY_LINE.match(line)]


def test_a_range_goes_on_past_a_day_without_data_and_exits_3(store: FileStorage) -> None:
    land(store, DAY0, event_lines(DAY0, 30))
    land(store, DAY2, event_lines(DAY2, 30, offset=2))
    result = materialize()
    assert result.exit_code == 3, result.output
    lines = day_lines(result)
    assert [line[:10] for line in lines] == [str(DAY0), str(DAY1), str(DAY2)]
    assert lines[0].startswith(f"{DAY0}  published ") and "(serving) with popularity" in lines[0]
    assert lines[1].startswith(f"{DAY1}  skipped: raw_events for acme/home {DAY1}: no landing")
    assert lines[2].startswith(f"{DAY2}  published ")
    assert published_days(store) == [str(DAY0), str(DAY2)]
    assert "error: 1 of 3 days not published (lines above); exit 3" in result.output
    assert "Traceback" not in result.output


def test_days_without_landing_files_are_skipped_without_starting_a_run(
    store: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sparse log over a long range: a run per empty day would flood the instance's history.
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    landed = [DAY0 + dt.timedelta(days=n) for n in (0, 1, 2, 6)]  # 4 of 7: coverage holds
    for n, day in enumerate(landed):
        land(store, day, event_lines(day, 30, offset=n))
    result = materialize(end=landed[-1])
    assert result.exit_code == 3, result.output
    lines = day_lines(result)
    assert [line.split("  ")[1].split(" ")[0] for line in lines] == [
        "published", "published", "published", "skipped:", "skipped:", "skipped:", "published"
    ]  # fmt: skip
    assert all(" no landing files under " in line for line in lines[3:6])
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert sorted(r.tags["dagster/partition"] for r in runs) == [
        str(partition_key(TENANT, SURFACE, day)) for day in landed
    ]


def test_the_most_serious_code_met_wins_and_fail_fast_stops_at_the_first(
    store: FileStorage,
) -> None:
    land(store, DAY0, ["{broken"])  # every line rejected: held by the min_events gate
    land(store, DAY2, event_lines(DAY2, 30))
    result = materialize()
    assert result.exit_code == 4, result.output  # 4 (a gate) outranks 3 (no data on DAY1)
    lines = day_lines(result)
    assert lines[0].startswith(f"{DAY0}  held by gate: blocked publishing acme/home {DAY0}: ")
    assert "canonical_events_min_events" in lines[0]
    assert lines[0].endswith("nothing is served for acme/home yet")
    assert lines[1].startswith(f"{DAY1}  skipped: ")
    assert published_days(store) == [str(DAY2)]
    fail_fast = materialize("--fail-fast", end=DAY1)
    assert fail_fast.exit_code == 4
    assert "canonical_events_min_events" in fail_fast.output
    assert str(DAY1) not in fail_fast.output  # never reached


def test_a_scope_without_a_single_weighted_event_is_a_data_condition_not_a_corrupt_artifact(
    store: FileStorage,
) -> None:
    shown = [
        json.dumps({"ts": f"{DAY0}T0{i}:00:00Z", "item_id": f"item-{i}", "user_id": "u"})
        for i in range(5)
    ]  # exposures only: popularity weighs them 0
    land(store, DAY0, shown)
    result = materialize(end=DAY0)
    assert result.exit_code == 3, result.output
    assert (
        f"error: manifest for acme/home {DAY0}: nothing to publish: popularity, which every "
        "manifest holds, has nothing to say: no event with a positive weight in the window "
        "(5 events; types seen: exposure;"
    ) in result.output
    assert result.output.rstrip().endswith("nothing is served for acme/home yet")
    assert published_days(store) == []


def test_a_catalog_without_tags_and_single_item_sessions_still_publish_exit_0(
    store: FileStorage,
) -> None:
    write_catalog(store, TENANT, [{"item_id": f"item-{i}"} for i in range(20)])
    lines = [
        json.dumps({"ts": f"{DAY0}T{h:02d}:00:00Z", "item_id": f"item-{h % 7}",
                    "user_id": f"u{h}", "event_type": "click"})
        for h in range(24)
    ]  # fmt: skip
    land(store, DAY0, lines)
    result = materialize(end=DAY0)
    assert result.exit_code == 0, result.output
    assert "  content_sim: left out: 0 of 20 catalog items have tags or a title" in result.output
    assert "  cooc: left out: 0 of 24 sessions hold two or more items" in result.output
    assert "  popularity: sha256 " in result.output
