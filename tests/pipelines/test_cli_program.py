"""The `recsys` program as a shell runs it: outside `make` in a checkout, in a pipe, failing.

Real processes (the installed console script), a clean environment: nothing from the test's
own settings may help a command find its keys, data or Dagster instance.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import open_storage
from recsys_pipelines.local_defaults import PROJECT_NAME
from tests.pipelines.conftest import (
    DAY0,
    KEY_SPEC,
    SMALL_DATA_PARAMS,
    SURFACE,
    TENANT,
    catalog_rows,
    event_lines,
)

REPO = Path(__file__).resolve().parents[2]
RECSYS = Path(sys.executable).parent / "recsys"
SCOPE = ["--tenant", TENANT, "--surface", SURFACE]


def recsys(cwd: Path, *args: str, close_stdout: bool = False) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "RECSYS_MODEL_PARAMS": SMALL_DATA_PARAMS,
        "OPENBLAS_NUM_THREADS": "1",
    }
    if not close_stdout:
        return subprocess.run(
            [str(RECSYS), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
    # The reader is gone before the command writes a line: `recsys manifests | head -0`.
    process = subprocess.Popen(
        [str(RECSYS), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    with process.stderr:
        stderr = process.stderr.read().decode()
    return subprocess.CompletedProcess(process.args, process.wait(timeout=300), "", stderr)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout after `make demo`: the project file, a key, an instance, landing data."""
    root = tmp_path_factory.mktemp("checkout")
    (root / "pyproject.toml").write_text(f'[project]\nname = "{PROJECT_NAME}"\n')
    (root / ".secrets").mkdir()
    (root / ".secrets" / "signing_keys").write_text(KEY_SPEC + "\n")
    (root / ".dagster_home").mkdir()
    shutil.copy(REPO / "dagster.yaml", root / ".dagster_home" / "dagster.yaml")
    storage = open_storage((root / ".recsys").as_uri())
    write_catalog(storage, TENANT, catalog_rows())
    lines = "\n".join(event_lines(DAY0, 30)) + "\n"
    storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{DAY0}/e.jsonl", lines.encode())
    (root / "docs").mkdir()  # commands typed from a subfolder find the same checkout
    return root


def test_commands_outside_make_use_the_checkouts_files_and_say_which(checkout: Path) -> None:
    result = recsys(checkout / "docs", "materialize", *SCOPE, "--date", str(DAY0))
    assert result.returncode == 0, result.stderr
    note = result.stderr.splitlines()[0]
    assert note.startswith("recsys: no variable set, using this checkout's local defaults: ")
    assert f"RECSYS_STORAGE_URL={(checkout / '.recsys').as_uri()}" in note
    assert f"RECSYS_SIGNING_KEYS_FILE={checkout / '.secrets' / 'signing_keys'}" in note
    assert f"DAGSTER_HOME={checkout / '.dagster_home'}" in note
    assert f"serving {TENANT}/{SURFACE}: " in result.stdout
    # The run is in the checkout's instance, where `make dev`'s UI shows it.
    with dg.instance_for_test(temp_dir=str(checkout / ".dagster_home")) as instance:
        runs = instance.get_run_records(dg.RunsFilter(job_name="daily_partition"))
    assert [r.dagster_run.status for r in runs] == [dg.DagsterRunStatus.SUCCESS]

    listing = recsys(checkout, "manifests", *SCOPE)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[1].startswith("* ")


def test_manifests_into_a_closed_pipe_exits_quietly(checkout: Path) -> None:
    result = recsys(checkout, "manifests", *SCOPE, close_stdout=True)
    assert (result.returncode, result.stderr.splitlines()[1:]) == (141, [])


def test_a_failed_day_prints_one_error_line_and_dagsters_log_only_with_verbose(
    checkout: Path,
) -> None:
    bad_day = DAY0.replace(day=DAY0.day + 1)
    storage = open_storage((checkout / ".recsys").as_uri())
    storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{bad_day}/e.jsonl", b"{not json\n")
    quiet = recsys(checkout, "materialize", *SCOPE, "--date", str(bad_day))
    assert quiet.returncode == 4, quiet.stderr
    assert quiet.stdout == ""
    [error] = quiet.stderr.splitlines()[1:]  # after the local-defaults note
    assert error.startswith(f"error: blocked publishing {TENANT}/{SURFACE} {bad_day}: ")
    loud = recsys(checkout, "--verbose", "materialize", *SCOPE, "--date", str(bad_day))
    assert loud.returncode == 4
    assert "STEP_FAILURE" in loud.stderr and "Traceback" in loud.stderr
    assert loud.stderr.splitlines()[-1] == error


def test_sigterm_during_a_run_marks_it_failed_and_exits_130_with_one_line(
    checkout: Path,
) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(checkout), "OPENBLAS_NUM_THREADS": "1"}
    env["RECSYS_MODEL_PARAMS"] = SMALL_DATA_PARAMS
    process = subprocess.Popen(
        [str(RECSYS), "materialize", *SCOPE, "--date", str(DAY0)],
        cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with dg.instance_for_test(temp_dir=str(checkout / ".dagster_home")) as instance:
        deadline = time.monotonic() + 120
        while not instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            assert process.poll() is None and time.monotonic() < deadline, "no run started"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        [record] = instance.get_run_records(dg.RunsFilter(tags={"recsys/runner": "cli"}), limit=1)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1].startswith(f"error: {DAY0}: interrupted (SIGINT or SIGTERM)")
    assert "Traceback" not in stderr
    assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
