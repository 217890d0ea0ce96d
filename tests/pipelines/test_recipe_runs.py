"""Daily runs build with the scope's recipe, and the manifest's lineage names its version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys_algo.stages.recipes import set_recipe
from recsys_algo.store import registry
from recsys_algo.store.recipes import read_current_recipe
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli import main
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines
from tests.support.builders import write_canonical_days
from tests.unit.session_events import zipf_events


def test_the_daily_run_uses_the_scope_recipe_and_names_its_version(env: Env) -> None:
    env.write_day(DAY0, event_lines(DAY0, 120))
    default = set_recipe(env.storage, None, {"blend": {"rank_offset": 4}}, source="cli")
    own = set_recipe(
        env.storage,
        (TENANT, SURFACE),
        {"session_knn": {"neighbors": 7}, "blend": {"weights": {"revisit": 0.5}}},
        source="cli",
    )
    env.run(DAY0)
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None
    parameters = current.manifest.lineage.parameters
    assert parameters["recipe"] == {"default": default.version, "scope": own.version}
    assert parameters["session_knn"]["neighbors"] == 7
    assert parameters["blend"]["rank_offset"] == 4.0
    assert parameters["blend"]["weights"]["revisit"] == 0.5
    assert parameters["cooc"]["min_support"] == 1  # the deployment's own override stays


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECSYS_STORAGE_URL", (tmp_path / "store").as_uri())
    monkeypatch.delenv("RECSYS_MODEL_PARAMS", raising=False)
    return tmp_path


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_recipe_set_get_history_and_effective_from_the_cli(cli_store: Path) -> None:
    scope = ["--tenant", TENANT, "--surface", SURFACE]
    code, out, _ = run("recipe", "get", *scope)
    assert code == 3
    path = cli_store / "r.json"
    path.write_text(json.dumps({"parameters": {"session_knn": {"neighbors": 9}}}))
    code, out, _ = run("recipe", "set", *scope, str(path), "--note", "hand-tuned")
    assert code == 0 and out.startswith(f"recipe {TENANT}/{SURFACE}: ")
    version = out.split(": ")[1].strip()
    code, out, _ = run("recipe", "get", *scope)
    assert code == 0
    document = json.loads(out)
    assert (document["version"], document["note"]) == (version, "hand-tuned")
    assert document["parameters"] == {"session_knn": {"neighbors": 9}}
    code, _, _ = run("recipe", "set", "--default", "-", stdin='{"cooc": {"top_n": 11}}')
    assert code == 0
    code, out, _ = run("recipe", "get", *scope, "--effective")
    effective = json.loads(out)
    assert effective["recipe"]["scope"] == version
    assert effective["parameters"]["session_knn"]["neighbors"] == 9
    assert effective["parameters"]["cooc"]["top_n"] == 11
    code, out, _ = run("recipe", "history", *scope)
    assert out.splitlines() == [f"* {version}  cli     hand-tuned"]


@pytest.mark.parametrize(
    ("args", "stdin", "code", "needle"),
    [
        (
            ["--tenant", TENANT, "--surface", SURFACE, "-"],
            '{"cooc": {"top_n": "9"}}',
            2,
            "cooc.top_n",
        ),
        (["--tenant", TENANT, "--surface", SURFACE, "-"], "{not json", 2, "not JSON"),
        (["--tenant", TENANT, "--surface", SURFACE, "-"], '{"nope": {}}', 2, "unknown section"),
        (["--tenant", TENANT, "-"], "{}", 2, "--surface"),
        (["--default", "--tenant", TENANT, "-"], "{}", 2, "--default"),
        (["--tenant", "Bad!", "--surface", SURFACE, "-"], "{}", 2, "tenant"),
    ],
)
def test_bad_recipes_exit_2_with_one_line_and_write_nothing(
    cli_store: Path, args: list[str], stdin: str, code: int, needle: str
) -> None:
    exit_code, _, err = run("recipe", "set", *args, stdin=stdin)
    assert exit_code == code
    assert needle in err
    storage = open_storage((cli_store / "store").as_uri())
    assert read_current_recipe(storage, (TENANT, SURFACE)) is None


def test_recipe_tune_writes_the_winner_and_prints_its_trials(cli_store: Path) -> None:
    scope = ["--tenant", TENANT, "--surface", SURFACE]
    code, _, err = run("recipe", "tune", *scope)
    assert code == 3 and "no canonical events to tune on" in err
    storage = open_storage((cli_store / "store").as_uri())
    write_canonical_days(storage, zipf_events(4_000, 80, 60, seed=5), TENANT, SURFACE)
    # Kinds keep their current knobs (one trial each); the blend gets 16: past its starting
    # points (current, defaults, each kind alone, the best pair), the sampler's own.
    budget = ["--kind-trials", "1", "--blend-trials", "16", "--holdout-days", "2", "--trials"]
    code, out, err = run("recipe", "tune", *scope, *budget)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("baseline #0: ")
    assert sum(line.startswith("blend #") for line in lines) == 16
    recipe = read_current_recipe(storage, (TENANT, SURFACE))
    assert recipe is not None and recipe.source == "tuning"
    assert lines[-1] == f"recipe {TENANT}/{SURFACE}: {recipe.version}"
    assert recipe.tuning is not None and recipe.tuning["seed"] == 42
    assert recipe.tuning["settings"]["protocols"] == ["users", "sessions"]
    assert set(recipe.parameters) == {"blend"}
    # Counting only the protocol a ratings surface serves: a different objective, recorded.
    code, out, err = run("recipe", "tune", *scope, *budget, "--protocol", "users")
    assert code == 0, err
    users_only = out.splitlines()
    assert users_only[0] != lines[0] and "; users)" in out
    recipe = read_current_recipe(storage, (TENANT, SURFACE))
    assert recipe is not None and recipe.tuning is not None
    assert recipe.tuning["settings"]["protocols"] == ["users"]


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--kind-trials", "0", "kind_trials"),
        ("--time-budget", "nan", "time_budget_seconds"),
        ("--seed", "-1", "seed"),
        ("--window-days", "0", "--window-days"),
        ("--protocol", "items", "--protocol"),
    ],
)
def test_recipe_tune_refuses_bad_budgets_with_exit_2(
    cli_store: Path, option: str, value: str, needle: str
) -> None:
    code, _, err = run("recipe", "tune", "--tenant", TENANT, "--surface", SURFACE, option, value)
    assert code == 2
    assert needle in err
