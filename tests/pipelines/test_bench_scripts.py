"""The benchmark scripts still run: refactors move what they import, and no other test runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from recsys_algo.kinds.kind import KINDS
from tests.support.shared_data import DIGINETICA, shared_data

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(BENCH)}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_every_bench_module_imports() -> None:
    modules = sorted(p.stem for p in BENCH.glob("*.py"))
    assert "pipeline" in modules and "service" in modules
    done = run("-c", f"import {', '.join(modules)}; print('imported')")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "imported"


def test_pipeline_bench_runs_every_stage_on_a_tiny_day() -> None:
    done = run("bench/pipeline.py", "--events-per-day", "3000", "--users", "200", "--items", "100")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    stages = {row.split("|")[1].strip() for row in rows}
    assert {f"compute {kind}" for kind in KINDS} <= stages
    assert {"ingest (parse + quarantine)", "evaluation (retrain + score)"} <= stages
    assert any(row.startswith("| **total") for row in rows)


def test_eval_ranking_bench_times_each_kind_one_at_a_time_and_batched() -> None:
    done = run(
        "bench/eval_ranking.py", "--events-per-day", "3000", "--users", "200", "--items", "100",
        "--sessions", "6",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {
        row.split("|")[1].strip(): [cell.strip() for cell in row.split("|")[2:4]]
        for row in done.stdout.splitlines()
        if row.startswith("| ") and not row.startswith("| kind")
    }
    assert rows["session_knn"][1] != "(not batched)"
    assert "Training every kind on the split (once): " in done.stdout
    assert all(float(cell) >= 0 for cell in rows["all kinds (candidates)"])


def test_exposure_cost_bench_times_each_part_of_an_answers_exposures() -> None:
    done = run("bench/exposure_cost.py", "--items", "5", "--answers", "300")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {
        row.split("|")[1].strip(): float(row.split("|")[2])
        for row in done.stdout.splitlines()
        if row.startswith("| ") and not row.startswith("| part")
    }
    assert len(rows) == 3 and all(value > 0 for value in rows.values())
    assert "300 answers of 5 items" in done.stdout


def test_pipeline_bench_runs_the_cli_end_to_end_on_the_click_mix() -> None:
    done = run(
        "bench/pipeline.py", "--through", "cli", "--event-mix", "clicks", "--sessions", "10",
        "--clusters", "30", "--events-per-day", "3000", "--users", "200", "--items", "100",
        "--json", "--model-params", '{"evaluation": {"max_users": 8, "min_users": 5}}',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["wall"] > 0 and result["peak_rss_mb"] > 50
    # The overrides reached `recsys materialize` (RECSYS_MODEL_PARAMS): its sample is capped.
    assert result["metrics"]["users"] == 8


def test_pipeline_bench_runs_the_stages_with_model_parameter_overrides() -> None:
    tiny = ("--events-per-day", "3000", "--users", "200", "--items", "100", "--json")
    capped = run(
        "bench/pipeline.py", *tiny,
        "--model-params", '{"evaluation": {"max_users": 8, "min_users": 5}}',
    )  # fmt: skip
    assert capped.returncode == 0, capped.stderr[-2000:]
    assert json.loads(capped.stdout.strip().splitlines()[-1])["metrics"]["users"] == 8
    bad = run("bench/pipeline.py", *tiny, "--model-params", '{"evaluation": {"max_userz": 1}}')
    assert bad.returncode != 0
    assert "--model-params" in bad.stderr and "max_userz" in bad.stderr


def test_pipeline_bench_prints_each_step_with_its_start_and_peak_rss() -> None:
    done = run(
        "bench/pipeline.py", "--event-mix", "clicks", "--sessions", "10", "--clusters", "30",
        "--events-per-day", "3000", "--users", "200", "--items", "100",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    header = lines.index(
        "| step | wall (s) | CPU (s) | rows/s | RSS at start (MB) | step peak RSS (MB) |"
    )
    rows = {}
    for line in lines[header + 2 :]:
        if not line.startswith("| ") or line.startswith("| **"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = (float(cells[4].replace(",", "")), float(cells[5].replace(",", "")))
    assert {"ingest (parse + quarantine)", "canonicalize", "evaluation (retrain + score)"} <= set(
        rows
    )
    # A step's peak is at least what it started with, and the process holds the interpreter.
    assert all(50 < start <= peak for start, peak in rows.values())


def test_quality_bench_prints_baselines_and_the_served_blend_on_the_session_log() -> None:
    path = shared_data(DIGINETICA)
    done = run("bench/quality.py", str(path), "--fraction", "0.1")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {
        row.split("|")[1].strip(): [float(c) for c in row.split("|")[2:-1]]
        for row in done.stdout.splitlines()
        if row.startswith("| ") and not row.startswith("| source")
    }
    baselines = ["popularity", "sequential rules", "item-kNN", "session-kNN"]
    assert [name for name in rows if name.startswith("baseline: ")] == [
        f"baseline: {name}" for name in baselines
    ]
    assert {f"product kind: {kind}" for kind in KINDS if kind != "content_sim"} <= set(rows)
    served = rows["**served blend**"]
    assert len(served) == 6 and all(0 <= value <= 1 for value in served)
    # HR@20 of the served blend: far above popularity's on a session log with repeats.
    assert served[0] > rows["baseline: popularity"][0]
    # The paired line compares it, case by case, with the best baseline by HR@20.
    best = max(baselines, key=lambda name: (rows[f"baseline: {name}"][0], name))
    paired = next(line for line in done.stdout.splitlines() if line.startswith("- paired"))
    hr = float(paired.split("HR@20 ")[1].split(" ")[0])
    assert paired.startswith(f"- paired, served blend - {best}: HR@20 ")
    assert abs(hr - (served[0] - rows[f"baseline: {best}"][0])) <= 2e-4  # 4 decimals each


def test_service_profile_sums_py_spy_samples_per_function(tmp_path: Path) -> None:
    raw = tmp_path / "worker-1.txt"
    raw.write_text(
        "main (app.py:1);serve (a/b/recommend.py:10);answer (a/b/recommend.py:20) 6\n"
        "main (app.py:1);serve (a/b/recommend.py:11);log (a/b/exposure.py:5) 3\n"
        "main (app.py:1);main (app.py:2) 1\n"
    )
    code = (
        "import json, pathlib; from profile_service import shares; "
        f"i, s, t = shares([pathlib.Path({str(raw)!r})]); print(json.dumps([i, s, t]))"
    )
    done = run("-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    inclusive, own, total = json.loads(done.stdout)
    assert total == 10
    assert inclusive["serve (b/recommend.py)"] == 9  # lines of one function merged
    assert inclusive["main (app.py)"] == 10  # a recursive frame counts once per sample
    assert own == {"answer (b/recommend.py)": 6, "log (b/exposure.py)": 3, "main (app.py)": 1}


def test_real_data_bench_refuses_a_keep_folder_that_exists(tmp_path: Path) -> None:
    """--keep never mixes a run into an old store (refused before any work). Keeping itself
    was checked by hand: a full run of two days costs about 3 minutes, too much for the suite."""
    done = run("bench/real_data.py", "--data", DIGINETICA, "--keep", str(tmp_path))
    assert done.returncode == 2 and f"--keep {tmp_path}: already exists" in done.stderr
    assert list(tmp_path.iterdir()) == []


def write_tiny_ratings(folder: Path, seed: int = 5) -> Path:
    """A synthetic ml-latest-small layout: 80 users rating 40 films over 30 days (Zipf-ish)."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    start = 1_600_000_000
    lines = ["userId,movieId,rating,timestamp"]
    weights = 1.0 / np.arange(1, 41)
    for user in range(1, 81):
        films = rng.choice(
            40, size=int(rng.integers(8, 20)), replace=False, p=weights / weights.sum()
        )
        for film in films:
            at = start + int(rng.integers(0, 30 * 86_400))
            lines.append(f"{user},{film + 1},{int(rng.integers(1, 6))}.0,{at}")
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    films = "\n".join(f"{n},Film {n} (2000),Drama|Comedy" for n in range(1, 41))
    (folder / "movies.csv").write_text(f"movieId,title,genres\n{films}\n")
    return folder


def test_quality_bench_asks_the_real_service_over_http_and_it_answers_as_in_process(
    tmp_path: Path,
) -> None:
    data = write_tiny_ratings(tmp_path / "tiny")
    done = run("bench/quality.py", str(data), "--http", "--max-queries", "12", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {
        row.split("|")[1].strip(): [float(c) for c in row.split("|")[2:-1]]
        for row in done.stdout.splitlines()
        if row.startswith("| ") and not row.startswith("| source")
    }
    sampled = [name for name in rows if "sampled cases" in name]
    asked = int(sampled[0].split("the ")[1].split(" sampled")[0])
    assert 0 < asked <= 12
    assert sampled == [
        f"**served blend, in process, the {asked} sampled cases**",
        f"**served blend over HTTP, the {asked} sampled cases**",
    ]
    assert rows[sampled[0]] == rows[sampled[1]]
    assert f"{asked} POST /v1/recommend (sample seed 42), {asked} answers identical" in done.stdout
