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
