"""The code location loads, and Dagster's own validator accepts it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from recsys_algo.config import DEFAULT_FIRST_DAY, FIRST_DAY_ENV
from recsys_algo.serving.recommender import KINDS
from recsys_pipelines.definitions import DAILY_JOB, defs
from recsys_pipelines.defs.artifacts.assets import enough_data_check
from recsys_pipelines.defs.tuning.assets import TUNE_JOB, TUNE_SCHEDULE

ROOT = Path(__file__).resolve().parents[2]
JOBS = (DAILY_JOB, "rollback", "hold", "release", "manifest_freshness", TUNE_JOB)


def test_every_job_asset_and_check_resolves() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    daily = {"raw_events", "canonical_events", *KINDS, "evaluation", "manifest"}
    assert keys == {*daily, "tuned_recipe"}
    # The graph the design card draws: ingest -> canonical -> kinds -> evaluation -> publish.
    upstream = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
        for k in graph.get_all_asset_keys()
    }
    assert all(upstream[kind] == {"canonical_events"} for kind in KINDS)
    assert upstream["evaluation"] == set(KINDS)
    assert upstream["manifest"] == {"evaluation"}
    assert upstream["tuned_recipe"] == set()  # it reads canonical days of any age from storage
    checks = {k.name for k in graph.asset_check_keys} - {"manifest_fresh", "manifest_not_held"}
    gates = {c for c in checks if c.startswith("canonical_events_")}
    assert len(gates) == 7  # blocking; one warning check per kind besides
    assert checks - gates == {enough_data_check(kind) for kind in KINDS}
    for name in JOBS:
        assert defs.resolve_job_def(name).name == name
    for name in JOBS:
        # One process per run (a UI backfill costs what the CLI costs), not one per step.
        assert defs.resolve_job_def(name).executor_def.name == "in_process", name
    for schedule in ("daily_partition_schedule", "manifest_freshness_hourly", TUNE_SCHEDULE):
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


def load_partitions(first_day: str | None) -> subprocess.CompletedProcess[str]:
    """Load the code location in a fresh process (the partitions are built when it loads)."""
    env = {k: v for k, v in os.environ.items() if k != FIRST_DAY_ENV}
    if first_day is not None:
        env[FIRST_DAY_ENV] = first_day
    code = (
        "from recsys_pipelines.definitions import defs\n"
        "from recsys_pipelines.defs.partitions import daily_partitions as d\n"
        "keys = d.get_partition_keys()\n"
        "print(keys[0], len(keys))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_partitions_start_at_recsys_first_day_and_a_recent_default() -> None:
    today = dt.datetime.now(dt.UTC).date()
    for first_day, start in (("2026-11-01", dt.date(2026, 11, 1)), (None, DEFAULT_FIRST_DAY)):
        result = load_partitions(first_day)
        assert result.returncode == 0, result.stderr[-2000:]
        first, count = result.stdout.split()
        # Every date from the first day through today (end_offset=1): months, not decades.
        assert (first, int(count)) == (start.isoformat(), (today - start).days + 1)


def test_a_wrong_first_day_fails_the_load_naming_the_variable() -> None:
    result = load_partitions("1995-1-1")
    assert result.returncode != 0
    assert "RECSYS_FIRST_DAY='1995-1-1' is invalid: use a date YYYY-MM-DD" in result.stderr


def _variable_after_loading(name: str, library: str, value: str | None = None) -> str:
    """The variable `name` in a fresh process that loaded the CLI, the code location and then
    library, started without it (or with value, as an operator would set it)."""
    probe = (
        f"import os, recsys_pipelines.cli, recsys_pipelines.definitions, {library}; "
        f"print(os.environ[{name!r}])"
    )
    env = {k: v for k, v in os.environ.items() if k != name}
    if value is not None:
        env[name] = value
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT,
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout.strip()


def test_processes_that_fit_make_openmp_wait_passively_unless_the_operator_says_otherwise() -> None:
    """The CLI and the code location set OMP_WAIT_POLICY before any OpenMP runtime loads, as
    a default: a spinning ALS thread on a busy machine cost a tiny day a second (docs/data.md)."""
    assert _variable_after_loading("OMP_WAIT_POLICY", "implicit.cpu.als") == "PASSIVE"
    assert _variable_after_loading("OMP_WAIT_POLICY", "implicit.cpu.als", "ACTIVE") == "ACTIVE"


def test_processes_that_run_steps_return_freed_polars_memory_promptly_unless_overridden() -> None:
    """The CLI and the code location set polars' jemalloc options before polars loads, as a
    default (polars appends them to its own, and jemalloc takes a key's last value): freed
    pages went back after 1.5 s, under the step's next allocations (docs/benchmarks.md)."""
    conf = _variable_after_loading("_RJEM_MALLOC_CONF", "polars")
    assert conf.endswith(",dirty_decay_ms:100,muzzy_decay_ms:0")
    mine = _variable_after_loading("_RJEM_MALLOC_CONF", "polars", "dirty_decay_ms:2000")
    assert mine.endswith(",dirty_decay_ms:2000")
    assert "dirty_decay_ms:100" not in mine
