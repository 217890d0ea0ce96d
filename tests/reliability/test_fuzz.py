"""Run each atheris fuzz target (fuzz/) for a bounded time; a crash or a contract breach fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECONDS = 20  # per target; docs/reliability.md shows how to run them longer
TARGETS = {"event_line": "fuzz/fuzz_event_line.py", "manifest": "fuzz/fuzz_manifest.py"}


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_finds_no_crash_in_bounded_time(tmp_path: Path, target: str) -> None:
    corpus = tmp_path / "corpus"  # libFuzzer adds what it finds to the first folder only
    corpus.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            TARGETS[target],
            f"-max_total_time={SECONDS}",
            "-seed=20261123",
            "-max_len=4096",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
            f"fuzz/seeds/{target}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
    )
    output = run.stderr
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert run.returncode == 0 and not crashes, f"{crashes}\n{output[-4000:]}"
    assert "DONE" in output and "Instrumenting recsys_algo" in output, output[-2000:]
