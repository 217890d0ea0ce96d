"""The tuning step: tune a scope on its latest window and write the result as its recipe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConfigError, DataSourceError
from recsys_algo.contracts.names import Partition, parse_day
from recsys_algo.contracts.recipe import Recipe
from recsys_algo.evaluation.split import Split, time_split
from recsys_algo.recipes.params import ModelParams
from recsys_algo.recipes.tune_params import TuneParams
from recsys_algo.recipes.tuning import TrialRecord, TuneResult, tune
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.stages.recipes import scope_params, set_recipe
from recsys_algo.store.recipes import read_current_recipe
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class TuneReport:
    day: dt.date  # the window ends with this day
    result: TuneResult
    recipe: Recipe | None  # the recipe written; None when nothing was measured or nothing won


def latest_day(storage: Storage, tenant: str, surface: str) -> dt.date:
    """The scope's latest canonical day (DataSourceError when it has none)."""
    days = []
    for key in storage.list(layout.canonical_prefix(tenant, surface)):
        name = key.rsplit("/", 1)[-1].removesuffix(".parquet")
        try:
            days.append(parse_day(name))
        except ConfigError:
            continue
    if not days:
        raise DataSourceError(
            f"{tenant}/{surface}: no canonical events to tune on (materialize some days first)"
        )
    return max(days)


def holdout_days_folds(events: Any, window_end: dt.datetime, days: int, folds: int) -> list[Split]:
    """Fold i (1..folds) holds out the `days` days ending `(i - 1) * days` before the window's
    end and trains on everything before them: the latest fold first."""
    splits = []
    for i in range(folds):
        end = window_end - dt.timedelta(days=i * days)
        start = end - dt.timedelta(days=days)
        train, test = time_split(events, start)
        splits.append(Split(train, time_split(test, end)[0] if i else test, start))
    return splits


def merged(current: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The scope's recipe with the tuned knobs on top (knobs the search did not touch stay)."""
    out = {name: dict(section) for name, section in current.items()}
    for name, section in found.items():
        target = out.setdefault(name, {})
        for knob, value in section.items():
            if isinstance(value, dict) and isinstance(target.get(knob), dict):
                target[knob] = {**target[knob], **value}
            else:
                target[knob] = value
    return out


def tune_scope(
    storage: Storage,
    tenant: str,
    surface: str,
    base: ModelParams,
    window_days: int,
    params: TuneParams,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> TuneReport:
    """Tune (tenant, surface) on its latest window from its current parameters (base, then its
    recipes) and, only when the search beat them, store the result as its new recipe (source
    "tuning", with the study); otherwise the current recipe stays and no version is written."""
    day = latest_day(storage, tenant, surface)
    read = read_model_inputs(storage, Partition(tenant, surface, day), window_days, base)
    current = scope_params(storage, tenant, surface, base)
    splits = holdout_days_folds(
        read.inputs.events, read.inputs.as_of_end, params.holdout_days, params.folds
    )
    result = tune(read.inputs, splits, current.params, params, on_trial)
    if not result.overrides:
        return TuneReport(day, result, None)
    own = read_current_recipe(storage, (tenant, surface))
    study = {
        "seed": params.seed,
        "settings": {**asdict(params), "protocols": list(params.protocols)},  # as JSON reads
        "window_end": day.isoformat(),
        "holdout_start": splits[0].holdout_start.isoformat(),
        "folds": result.folds,
        "trials": len(result.trials),
        "stopped_by_time": result.stopped_by_time,
        "baseline": result.baseline,
        "best": result.best,
        "from_recipe": current.lineage,
        "left_out": result.left_out,
    }
    recipe = set_recipe(
        storage,
        (tenant, surface),
        merged(own.parameters if own else {}, result.overrides),
        source="tuning",
        note=result.message,
        tuning=study,
    )
    return TuneReport(day, result, recipe)
