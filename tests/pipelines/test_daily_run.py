"""The daily job end to end on real storage: ingest, canonicalize, gates, popularity, publish."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import dagster as dg
import msgspec
import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import DataSourceError, ValidationGateError
from recsys_algo.serving.recommender import KINDS
from recsys_algo.store import registry
from recsys_pipelines.definitions import DAILY_JOB
from recsys_pipelines.defs.ingest.assets import OUTCOME_TAG, SKIPPED
from recsys_pipelines.defs.partitions import partition_key
from recsys_pipelines.defs.resources import PipelineSettings
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines


def test_daily_run_publishes_a_verified_manifest_with_popularity(env: Env) -> None:
    env.write_day(DAY0, event_lines(DAY0, 120))
    outcome = env.run(DAY0)
    assert outcome.serving
    loaded = registry.load_verified(env.storage, env.keys, TENANT, SURFACE)
    assert loaded is not None
    current, blobs = loaded
    assert current.manifest.manifest_version == outcome.manifest_version
    assert current.manifest.as_of == DAY0.isoformat()
    assert set(blobs) == set(KINDS)
    catalog = env.storage.read_bytes(layout.catalog_key(TENANT))
    assert current.manifest.lineage.inputs == {
        DAY0.isoformat(): hashlib.sha256(
            env.storage.read_bytes(layout.canonical_key(TENANT, SURFACE, DAY0))
        ).hexdigest(),
        "catalog": hashlib.sha256(catalog).hexdigest(),
    }
    assert current.manifest.metrics["window_events"] == 120


def test_rerun_of_same_partition_writes_identical_bytes(env: Env) -> None:
    env.write_day(DAY0, event_lines(DAY0, 200))
    env.run(DAY0)
    canonical = env.storage.read_bytes(layout.canonical_key(TENANT, SURFACE, DAY0))
    first = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    env.run(DAY0)
    second = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert env.storage.read_bytes(layout.canonical_key(TENANT, SURFACE, DAY0)) == canonical
    assert first is not None and second is not None
    assert first.manifest.manifest_version != second.manifest.manifest_version
    assert first.manifest.artifacts == second.manifest.artifacts  # same digests, same blobs


def test_malformed_lines_are_quarantined_with_reasons_not_dropped(env: Env) -> None:
    lines = event_lines(DAY0, 50)
    bad = [
        "{not json",
        json.dumps({"ts": "2026-11-01T00:00:00Z"}),
        json.dumps({"ts": "2026-11-05T00:00:00Z", "item_id": "late"}),
    ]
    env.write_day(DAY0, lines + bad)
    env.run(DAY0)
    rejected = [
        msgspec.json.decode(line)
        for line in env.storage.read_bytes(
            layout.quarantine_key(TENANT, SURFACE, DAY0)
        ).splitlines()
    ]
    assert sorted(r["reason"] for r in rejected) == [
        "invalid_json",
        "schema",
        "ts_outside_partition",
    ]
    assert {r["raw"] for r in rejected} == set(bad)
    canonical = env.storage.read_bytes(layout.canonical_key(TENANT, SURFACE, DAY0))
    from recsys_algo.stages.window import parquet_rows

    assert parquet_rows(canonical) == 50


def test_quarantine_file_is_removed_when_a_rerun_has_no_bad_lines(env: Env) -> None:
    env.write_day(DAY0, [*event_lines(DAY0, 20), "garbage"])
    env.run(DAY0)
    assert env.storage.exists(layout.quarantine_key(TENANT, SURFACE, DAY0))
    env.write_day(DAY0, event_lines(DAY0, 20))
    env.run(DAY0)
    assert not env.storage.exists(layout.quarantine_key(TENANT, SURFACE, DAY0))


def test_day_without_landing_files_is_a_data_source_error_naming_what_serves(env: Env) -> None:
    with pytest.raises(DataSourceError, match="no landing files") as raised:
        env.run(DAY0)
    assert str(raised.value).endswith(
        f"nothing to build; nothing is served for {TENANT}/{SURFACE} yet"
    )


def test_a_dagster_run_of_a_day_without_landing_files_succeeds_building_nothing(
    env: Env,
) -> None:
    """What a UI backfill or the schedule sees: the run succeeds, every step after raw_events
    is skipped, the run's tag and raw_events' observation say why, the pointer stays."""
    env.write_day(DAY0, event_lines(DAY0, 60))
    published = env.run(DAY0).manifest_version
    day1 = DAY0 + dt.timedelta(days=1)
    job = env.definitions().resolve_job_def(DAILY_JOB)
    result = job.execute_in_process(
        instance=env.instance, partition_key=partition_key(TENANT, SURFACE, day1)
    )
    assert result.success
    where = env.storage.uri_for(f"raw/{TENANT}/{SURFACE}/{day1}")
    why = (
        f"raw_events for {TENANT}/{SURFACE} {day1}: no landing files under {where}/: nothing to "
        f"build; {published} (as_of {DAY0}) keeps serving"
    )
    observed = result.asset_observations_for_node("raw_events")
    assert [o.metadata[SKIPPED].value for o in observed] == [why]
    assert env.instance.get_run_by_id(result.run_id).tags[OUTCOME_TAG] == f"skipped: {why}"
    assert not result.get_asset_materialization_events()
    assert not result.get_asset_check_evaluations()
    skipped = {
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_SKIPPED
    }
    assert "manifest" in skipped and "canonical_events" in skipped
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None and current.manifest.manifest_version == published
    assert not env.storage.list(f"canonical/{TENANT}/{SURFACE}/{day1}")


def test_older_day_is_recorded_but_does_not_rewind_serving_unless_allowed(env: Env) -> None:
    day1 = DAY0 + dt.timedelta(days=1)
    env.write_day(DAY0, event_lines(DAY0, 40))
    env.write_day(day1, event_lines(day1, 40))
    env.run(DAY0)
    newer = env.run(day1)
    backfill = env.run(DAY0)
    assert not backfill.serving
    assert "allow_rewind" in backfill.message
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None and current.manifest.manifest_version == newer.manifest_version
    versions = [e.version for e in registry.history(env.storage, env.keys, TENANT, SURFACE)]
    assert backfill.manifest_version in versions
    rewound = env.run(DAY0, allow_rewind=True)
    assert rewound.serving
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None and current.manifest.as_of == DAY0.isoformat()
    assert current.manifest.lineage.parameters["allow_rewind"] is True


def test_window_reads_trailing_days_and_records_their_fingerprints(env: Env) -> None:
    days = [DAY0 + dt.timedelta(days=i) for i in range(3)]
    for day in days:
        env.write_day(day, event_lines(day, 30))
        env.run(day)
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None
    assert sorted(current.manifest.lineage.inputs) == [*(d.isoformat() for d in days), "catalog"]
    assert current.manifest.metrics["window_events"] == 90
    assert current.manifest.window.start == (days[-1] - dt.timedelta(days=27)).isoformat()


def test_gate_failure_message_names_the_check_and_the_limit(env: Env) -> None:
    env.settings = PipelineSettings(max_events=10)
    env.write_day(DAY0, event_lines(DAY0, 11))
    with pytest.raises(
        ValidationGateError, match=r"canonical_events_max_events: .*11 events, max_events is 10"
    ):
        env.run(DAY0)


def test_the_catalog_reads_row_counts_owners_and_rounded_metrics(env: Env) -> None:
    day1 = DAY0 + dt.timedelta(days=1)
    env.write_day(DAY0, event_lines(DAY0, 300))
    env.write_day(day1, event_lines(day1, 120, offset=1))
    env.run(DAY0)
    env.run(day1)  # a two-day window: the held-out day is measured
    graph = env.definitions().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).owners == ["team:recsys"], key
    rows = {}
    for name in ("raw_events", "canonical_events", *KINDS):
        event = env.instance.get_latest_materialization_event(dg.AssetKey(name))
        assert event is not None and event.asset_materialization is not None
        metadata = event.asset_materialization.metadata
        assert "rows" not in metadata, name  # Dagster's own key, which the catalog shows
        rows[name] = metadata["dagster/row_count"].value
    assert rows["raw_events"] == rows["canonical_events"] == 120
    assert all(isinstance(n, int) and n > 0 for n in rows.values())
    event = env.instance.get_latest_materialization_event(dg.AssetKey("evaluation"))
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    raw = metadata["metrics_raw"].value
    plotted = [k for k in metadata if k.startswith("blend.")]
    assert plotted, sorted(raw)
    for name in plotted:
        assert metadata[name].value == round(raw[name], 4)  # type: ignore[index]
