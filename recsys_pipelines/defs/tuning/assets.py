"""The tuned_recipe asset (one partition per scope), its job and its weekly schedule."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import datetime as dt

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.contracts.names import parse_scope_key
from recsys_algo.policy.schedule import weekly_tuning_runs
from recsys_algo.recipes.tune_params import TuneParams
from recsys_algo.recipes.tuning import TrialRecord
from recsys_algo.stages.tune import tune_scope
from recsys_pipelines.defs.automation.settings import SCOPE_TAG, TRIGGER_TAG
from recsys_pipelines.defs.partitions import SCOPES_PARTITION, scopes_partitions
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource

TUNE_JOB = "tune_scope"
TUNE_SCHEDULE = "weekly_tuning_schedule"
TRIAL_COLUMNS = [
    dg.TableColumn("stage", "string", description="baseline, a kind, or blend"),
    dg.TableColumn("trial", "int"),
    dg.TableColumn("objective", "float", description="held-out NDCG+Recall@20 / HR+MRR@20"),
    dg.TableColumn("seconds", "float"),
    dg.TableColumn("parameters", "string"),
]


class TuneConfig(dg.Config):
    """The search's budgets and seed (same seed, same trials: same recipe)."""

    seed: int = 42
    kind_trials: int = 12
    blend_trials: int = 60
    time_budget_seconds: float = 480.0
    holdout_days: int = 7
    folds: int = 2
    protocols: list[str] = ["users", "sessions"]  # the held-out protocols the scope serves


@dg.asset(
    partitions_def=scopes_partitions,
    group_name="tune",
    code_version=CODE_VERSION,
    kinds={"optuna"},
)
def tuned_recipe(
    context: dg.AssetExecutionContext,
    config: TuneConfig,
    storage: StorageResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """A scope's recipe chosen on held-out days: each kind's main knobs, then blend weights."""
    tenant, surface = parse_scope_key(context.partition_key)

    def on_trial(trial: TrialRecord) -> None:
        context.log.info(f"{trial.stage} #{trial.number}: {trial.value:.4f} {trial.params}")

    report = tune_scope(
        storage.open(),
        tenant,
        surface,
        settings.params(),
        settings.window_days,
        TuneParams(**{**config.model_dump(), "protocols": tuple(config.protocols)}),
        on_trial,
    )
    result = report.result
    if report.recipe is None:
        context.log.warning(f"{tenant}/{surface}: no new recipe; {result.message}")
    rows = [
        dg.TableRecord(
            {
                "stage": t.stage,
                "trial": t.number,
                "objective": t.value,
                "seconds": t.seconds,
                "parameters": str(t.params),
            }
        )
        for t in result.trials
    ]
    return dg.MaterializeResult(
        metadata={
            "recipe_version": report.recipe.version if report.recipe else "",
            "message": result.message,
            "window_end": report.day.isoformat(),
            "baseline": dg.MetadataValue.float(result.baseline or 0.0),
            "best": dg.MetadataValue.float(result.best or 0.0),
            "trials": dg.MetadataValue.table(rows, schema=dg.TableSchema(TRIAL_COLUMNS)),
            "stopped_by_time": result.stopped_by_time,
            "left_out": dg.MetadataValue.json(result.left_out),
        }
    )


tune_scope_job = dg.define_asset_job(
    TUNE_JOB,
    selection=[tuned_recipe],
    description="Tune one scope's parameters on held-out days and write its recipe.",
)


@dg.schedule(
    name=TUNE_SCHEDULE,
    job=tune_scope_job,
    cron_schedule="0 2 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Sundays 02:00 UTC: one tuning run per registered tenant.surface "
    "(run_key tune:<scope>:<ISO week>).",
)
def weekly_tuning_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every registered scope, once per ISO week; the scope tag serializes it with daily runs."""
    runs = weekly_tuning_runs(
        context.instance.get_dynamic_partitions(SCOPES_PARTITION),
        context.scheduled_execution_time or dt.datetime.now(dt.UTC),
    )
    return [
        dg.RunRequest(
            run_key=run.run_key,
            partition_key=run.scope,
            tags={SCOPE_TAG: run.scope, TRIGGER_TAG: "schedule"},
        )
        for run in runs
    ]
