"""The tuning job in process: it records every trial, writes the scope's recipe, and the next
daily run builds with it and names it in the manifest's lineage."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from recsys_algo.contracts.names import scope_key
from recsys_algo.store import registry
from recsys_algo.store.recipes import read_current_recipe
from recsys_pipelines.defs.resources import PipelineSettings
from recsys_pipelines.defs.tuning.assets import TUNE_JOB
from tests.pipelines.conftest import DAY0, SMALL_DATA_PARAMS, SURFACE, TENANT, Env, event_lines

DAYS = [DAY0 + dt.timedelta(days=i) for i in range(3)]
BUDGET = {"seed": 5, "kind_trials": 2, "blend_trials": 5, "holdout_days": 1}


def test_tuning_writes_a_recipe_that_the_next_daily_run_names(env: Env) -> None:
    # A few hundred events a day: a wide gate margin, so day-to-day noise never blocks.
    params = json.loads(SMALL_DATA_PARAMS)
    params["evaluation"]["gate_margin"] = 0.9
    env.settings = PipelineSettings(model_params=json.dumps(params))
    for i, day in enumerate([*DAYS, DAYS[-1] + dt.timedelta(days=1)]):
        env.write_day(day, event_lines(day, 150, offset=i))
    for day in DAYS:
        env.run(day)
    job = env.definitions().resolve_job_def(TUNE_JOB)
    result = job.execute_in_process(
        partition_key=scope_key(TENANT, SURFACE),
        instance=env.instance,
        run_config={"ops": {"tuned_recipe": {"config": BUDGET}}},
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("tuned_recipe")
    meta = materialization.metadata
    recipe = read_current_recipe(env.storage, (TENANT, SURFACE))
    assert recipe is not None and recipe.source == "tuning"
    assert meta["recipe_version"].value == recipe.version
    table = meta["trials"].value
    assert isinstance(table, dg.TableMetadataValue)
    stages = [row.data["stage"] for row in table.records]
    assert stages[0] == "baseline" and stages.count("blend") == BUDGET["blend_trials"]
    assert len(stages) == recipe.tuning["trials"] if recipe.tuning else False
    assert meta["window_end"].value == DAYS[-1].isoformat()

    env.run(DAYS[-1] + dt.timedelta(days=1))
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None
    assert current.manifest.lineage.parameters["recipe"] == {
        "default": None,
        "scope": recipe.version,
    }
