"""The code location loads, and Dagster's own validator accepts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from recsys_algo.serving.recommender import KINDS
from recsys_pipelines.definitions import DAILY_JOB, defs
from recsys_pipelines.defs.artifacts.assets import enough_data_check

ROOT = Path(__file__).resolve().parents[2]


def test_every_job_asset_and_check_resolves() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"raw_events", "canonical_events", *KINDS, "evaluation", "manifest"}
    # The graph the design card draws: ingest -> canonical -> kinds -> evaluation -> publish.
    upstream = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
        for k in graph.get_all_asset_keys()
    }
    assert all(upstream[kind] == {"canonical_events"} for kind in KINDS)
    assert upstream["evaluation"] == set(KINDS)
    assert upstream["manifest"] == {"evaluation"}
    checks = {k.name for k in graph.asset_check_keys} - {"manifest_fresh"}
    gates = {c for c in checks if c.startswith("canonical_events_")}
    assert len(gates) == 7  # blocking; one warning check per kind besides
    assert checks - gates == {enough_data_check(kind) for kind in KINDS}
    for name in (DAILY_JOB, "rollback", "manifest_freshness"):
        assert defs.resolve_job_def(name).name == name
    for schedule in ("daily_partition_schedule", "manifest_freshness_hourly"):
        assert defs.resolve_schedule_def(schedule).name == schedule
    for sensor in ("landing_files", "landing_scopes"):
        assert defs.resolve_sensor_def(sensor).name == sensor


def test_dagster_definitions_validate_accepts_the_code_location() -> None:
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "dagster"), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful" in result.stdout + result.stderr
