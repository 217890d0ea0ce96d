"""`recsys materialize` of one partition in a child process: its wall, CPU, peak RSS and steps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from recsys_algo.contracts.names import Partition
from recsys_algo.recipes.params import ModelParams
from recsys_algo.stages.model_inputs import current_set_key
from recsys_algo.stages.staging import load_evaluation
from recsys_algo.store.storage import open_storage
from recsys_pipelines.defs.resources import PipelineSettings

REPO = Path(__file__).resolve().parents[1]
CREATE_INSTANCE = "import dagster as dg\nwith dg.DagsterInstance.get() as i: i.get_runs(limit=1)"


@dataclass(frozen=True)
class CliRun:
    wall: float
    cpu: float
    peak_rss_mb: float
    steps: list[tuple[str, float]]  # Dagster step key -> wall seconds, in start order
    metrics: dict[str, float]
    instance_created: float  # wall seconds of the instance's first opening (not in wall)


def _steps(dagster_home: Path) -> list[tuple[str, float]]:
    """Each step's wall time, from the run's event log (read after the run, not timed)."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(limit=1)
        stats = instance.get_run_step_stats(run.run_id)
    timed = [s for s in stats if s.start_time is not None and s.end_time is not None]
    return [
        (s.step_key, s.end_time - s.start_time) for s in sorted(timed, key=lambda s: s.start_time)
    ]  # type: ignore[operator]


def materialize_through_cli(
    tmp: Path, p: Partition, key_spec: str, days: int, overrides: str = "{}"
) -> CliRun:
    """Run `recsys materialize` for p with the model parameter overrides (JSON, by section)."""
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    store = (tmp / "store").as_uri()
    env = {
        **os.environ,
        "RECSYS_STORAGE_URL": store,
        "RECSYS_SIGNING_KEYS": key_spec,
        "DAGSTER_HOME": str(home),
        "OPENBLAS_NUM_THREADS": "1",
        "RECSYS_MODEL_PARAMS": overrides,
    }
    env.pop("RECSYS_SIGNING_KEYS_FILE", None)
    # A daily run finds its instance created (by the first run, `make dev` or the deploy): its
    # storage's schema is made once here, untimed but printed, not in every measured run.
    created = time.perf_counter()
    subprocess.run([sys.executable, "-c", CREATE_INSTANCE], env=env, check=True)
    created = time.perf_counter() - created
    recsys = Path(sys.executable).with_name("recsys")
    day = p.day.isoformat()
    args = [str(recsys), "materialize", "--tenant", p.tenant, "--surface", p.surface]
    start = time.perf_counter()
    child = subprocess.Popen(
        [*args, "--date", day], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"recsys materialize exited {child.returncode}:\n{output.decode()[-4000:]}")
    storage = open_storage(store)
    # The set of what the window holds now, with the parameters the CLI ran with.
    set_key = current_set_key(
        storage,
        p,
        PipelineSettings().window_days,
        ModelParams.from_overrides(json.loads(overrides)),
    )
    evaluation = load_evaluation(storage, p, set_key)
    return CliRun(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        steps=_steps(home),
        metrics=dict(evaluation.metrics),
        instance_created=created,
    )


def print_cli_run(run: CliRun) -> None:
    steps = sum(seconds for _, seconds in run.steps)
    print("| `recsys materialize` | wall (s) | CPU (s) | peak RSS (MB) |\n|---|---:|---:|---:|")
    print(f"| whole command | {run.wall:.2f} | {run.cpu:.2f} | {run.peak_rss_mb:,.0f} |")
    print(f"| outside steps (start-up, imports, instance, run bookkeeping) | "
          f"{run.wall - steps:.2f} | | |")  # fmt: skip
    print(f"| (not timed: the instance's storage created before the run) | "
          f"{run.instance_created:.2f} | | |")  # fmt: skip
    print("\n| Dagster step | wall (s) |\n|---|---:|")
    for step, seconds in run.steps:
        print(f"| {step} | {seconds:.2f} |")
