"""The tuning search: budgets, determinism, every trial recorded, never worse than the current
parameters on the tuning split; the step that writes its recipe; the weekly runs."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
import optuna
import polars as pl
import pytest

from recsys_algo.contracts.errors import ConfigError, DataSourceError
from recsys_algo.kinds.kind import POPULARITY, SOURCE_ORDER
from recsys_algo.kinds.registry import Inputs
from recsys_algo.kinds.search import blend_point, blend_space
from recsys_algo.policy.schedule import weekly_tuning_runs
from recsys_algo.recipes.params import ModelParams
from recsys_algo.recipes.tune_params import TuneParams
from recsys_algo.recipes.tuning import TrialRecord, tune
from recsys_algo.serving.ranking import Ranked, fuse
from recsys_algo.serving.recommender import BlendParams
from recsys_algo.stages.recipes import set_recipe
from recsys_algo.stages.tune import holdout_days_folds, tune_scope
from recsys_algo.store.recipes import read_current_recipe
from recsys_algo.store.storage import Storage
from tests.support.builders import write_canonical_days
from tests.unit.session_events import END, zipf_events

CATALOG = pl.DataFrame(
    schema={
        "item_id": pl.String,
        "tags": pl.List(pl.String),
        "title": pl.String,
        "surface": pl.String,
    }
)
# blend_trials: past the starting points (current, defaults, each kind alone, the best pair).
SMALL = TuneParams(seed=3, kind_trials=2, blend_trials=16, time_budget_seconds=600, holdout_days=2)
# Small data: pairs seen once count, few factors, EASE on few items.
BASE = ModelParams.from_overrides(
    {
        "cooc": {"min_support": 1},
        "implicit": {"factors": 8, "iterations": 3},
        "item_model": {"ease_items": 200},
    }
)


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return zipf_events(8_000, 120, 100, seed=11, explicit_share=0.5)


@pytest.fixture(scope="module")
def tuned(events: pl.DataFrame) -> Any:
    seen: list[TrialRecord] = []
    return run(events, on_trial=seen.append), seen


def run(
    events: pl.DataFrame, params: TuneParams = SMALL, base: ModelParams = BASE, **kw: Any
) -> Any:
    splits = holdout_days_folds(events, END, params.holdout_days, params.folds)
    return tune(Inputs(events, CATALOG, END), splits, base, params, **kw)


def test_every_trial_is_recorded_and_the_result_never_loses_to_the_current_parameters(
    tuned: Any,
) -> None:
    result, seen = tuned
    assert seen == result.trials
    stages = [t.stage for t in result.trials]
    assert stages[0] == "baseline"
    # Each tuned kind: its current parameters, then kind_trials - 1 searched; the blend too.
    for stage in ("revisit", "session_knn", "session_seq", "item_model", "implicit"):
        assert stages.count(stage) == SMALL.kind_trials, stage
    assert stages.count("blend") == SMALL.blend_trials
    assert result.baseline is not None and result.best is not None
    assert result.overrides is not None
    if result.overrides:
        assert result.best > result.baseline
    else:
        assert result.best <= result.baseline
    blend = [t.value for t in result.trials if t.stage == "blend"]
    assert result.best == max(blend)
    assert not result.stopped_by_time


def test_the_same_seed_gives_the_same_trials_and_overrides(
    events: pl.DataFrame, tuned: Any
) -> None:
    first, second = tuned[0], run(events)
    strip = [(t.stage, t.number, t.value, t.params) for t in first.trials]
    assert strip == [(t.stage, t.number, t.value, t.params) for t in second.trials]
    assert first.overrides == second.overrides


def test_the_time_budget_stops_the_search_and_says_so(events: pl.DataFrame) -> None:
    ticks = itertools.count(0.0, 1000.0)  # each look at the clock: 1000 s later
    result = run(
        events,
        TuneParams(**{**SMALL.__dict__, "time_budget_seconds": 2000}),
        clock=lambda: next(ticks),
    )
    assert result.stopped_by_time
    assert len(result.trials) < 1 + 5 * SMALL.kind_trials + SMALL.blend_trials


def test_a_kind_that_scores_nothing_is_not_searched(events: pl.DataFrame) -> None:
    # Users only (too few session positions to count): revisit answers with the user's own
    # items, which users' queries exclude, so it scores 0 whatever its knobs.
    users_only = BASE.with_overrides(
        {"evaluation": {"min_session_cases": 5000, "max_session_cases": 5000}}
    )
    result = run(events, base=users_only)
    stages = [t.stage for t in result.trials]
    assert stages.count("revisit") == 1
    assert result.left_out["revisit"] == "revisit: scores 0 on the held-out cases"
    assert stages.count("session_knn") == SMALL.kind_trials


def test_too_few_held_out_cases_tune_nothing_and_say_what_was_needed(events: pl.DataFrame) -> None:
    few = events.filter(pl.col("user_id").is_in(["1", "2"]))
    result = run(few)
    assert result.overrides is None
    assert "held-out users (needs 20)" in result.message
    assert "held-out session positions (needs 100)" in result.message


def test_counting_users_only_judges_as_if_sessions_had_too_few_cases(
    events: pl.DataFrame, tuned: Any
) -> None:
    users = run(events, TuneParams(**{**SMALL.__dict__, "protocols": ("users",)}))
    too_few_sessions = BASE.with_overrides(
        {"evaluation": {"min_session_cases": 5000, "max_session_cases": 5000}}
    )
    same = run(events, base=too_few_sessions)
    strip = [(t.stage, t.number, t.value, t.params) for t in users.trials]
    assert strip == [(t.stage, t.number, t.value, t.params) for t in same.trials]
    assert users.baseline != tuned[0].baseline  # both protocols: a different objective
    assert users.message.endswith("; users)") and tuned[0].message.endswith("users and sessions)")


def test_a_counted_protocol_without_enough_cases_says_only_what_it_needed(
    events: pl.DataFrame,
) -> None:
    few_sessions = BASE.with_overrides(
        {"evaluation": {"min_session_cases": 5000, "max_session_cases": 5000}}
    )
    result = run(
        events, TuneParams(**{**SMALL.__dict__, "protocols": ("sessions",)}), base=few_sessions
    )
    assert result.overrides is None
    assert "held-out session positions (needs 5000)" in result.message
    assert "users" not in result.message


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"protocols": ()}, "protocols"),
        ({"protocols": ("items",)}, "protocols"),
        ({"protocols": ("users", "users")}, "protocols"),
        ({"protocols": "users"}, "protocols"),
        ({"seed": -1}, "seed"),
        ({"kind_trials": 0}, "kind_trials"),
        ({"blend_trials": 1.5}, "blend_trials"),
        ({"time_budget_seconds": float("nan")}, "time_budget_seconds"),
        ({"holdout_days": 0}, "holdout_days"),
    ],
)
def test_bad_tuning_settings_are_config_errors(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        TuneParams(**change)


def test_the_step_writes_a_tuning_recipe_over_the_scope_recipe(
    storage: Storage, events: pl.DataFrame
) -> None:
    with pytest.raises(DataSourceError, match="no canonical events"):
        tune_scope(storage, "demo", "home", BASE, 28, SMALL)
    write_canonical_days(storage, events)
    own = set_recipe(storage, ("demo", "home"), {"cooc": {"top_n": 17}}, source="cli")
    report = tune_scope(storage, "demo", "home", BASE, 28, SMALL)
    assert report.day == (END - dt.timedelta(days=1)).date()
    recipe = read_current_recipe(storage, ("demo", "home"))
    assert recipe is not None and recipe == report.recipe
    assert recipe.source == "tuning"
    assert recipe.parameters["cooc"] == {"top_n": 17}  # the operator's knob stays
    assert recipe.tuning is not None
    assert recipe.tuning["from_recipe"] == {"default": None, "scope": own.version}
    assert recipe.tuning["trials"] == len(report.result.trials)
    assert recipe.tuning["seed"] == SMALL.seed


def test_a_search_that_beats_nothing_writes_no_recipe_version(
    storage: Storage, events: pl.DataFrame
) -> None:
    write_canonical_days(storage, events)
    own = set_recipe(storage, ("demo", "home"), {"cooc": {"top_n": 17}}, source="cli")
    # One trial per stage: only the current parameters are tried, so nothing can beat them.
    only_current = TuneParams(**{**SMALL.__dict__, "kind_trials": 1, "blend_trials": 1})
    report = tune_scope(storage, "demo", "home", BASE, 28, only_current)
    assert report.recipe is None
    assert report.result.overrides == {}
    assert report.result.message.startswith("kept the current parameters")
    assert read_current_recipe(storage, ("demo", "home")) == own


def test_weekly_runs_are_one_per_scope_and_iso_week() -> None:
    tick = dt.datetime(2026, 11, 22, 2, tzinfo=dt.UTC)  # a Sunday of week 47
    runs = weekly_tuning_runs(["b.home", "a.home"], tick)
    assert [(r.scope, r.run_key) for r in runs] == [
        ("a.home", "tune:a.home:2026-W47"),
        ("b.home", "tune:b.home:2026-W47"),
    ]


def test_the_blend_space_holds_the_shipped_default_weights_as_a_point_that_ranks_alike() -> None:
    defaults = BlendParams()
    kinds = list(SOURCE_ORDER)
    point = blend_point(defaults.weights, defaults.rank_offset, kinds, POPULARITY)
    # FixedTrial warns (an error here) on a value outside a parameter's range.
    chosen = blend_space(optuna.trial.FixedTrial(point), kinds, POPULARITY)
    scale = chosen["weights"][POPULARITY] / defaults.weights[POPULARITY]
    for kind in kinds:
        assert chosen["weights"][kind] == pytest.approx(defaults.weights[kind] * scale), kind
    assert chosen["rank_offset"] == defaults.rank_offset
    # The same weights scaled: the same ranking for the same candidates.
    ranked = {
        kind: Ranked(np.array(codes, np.int32), np.zeros(len(codes)))
        for kind, codes in {
            "revisit": [3, 1],
            "implicit": [1, 2, 4],
            "popularity": [2, 4, 0],
        }.items()
    }
    assert (
        fuse(ranked, 5, chosen["weights"], chosen["rank_offset"]).codes.tolist()
        == fuse(ranked, 5, defaults.weights, defaults.rank_offset).codes.tolist()
    )


def test_the_search_starts_from_the_defaults_each_kind_alone_and_each_item_model(
    tuned: Any,
) -> None:
    result, _ = tuned
    blend = [t for t in result.trials if t.stage == "blend"]
    # BASE's blend is the shipped one: its point in the space scores as the blend itself.
    assert blend[1].value == blend[0].value
    alone = [
        [k for k, w in t.params.items() if k not in ("rank_offset", POPULARITY) and w > 0]
        for t in blend[2:]
    ]
    fitted = {str(k) for k in SOURCE_ORDER if k != POPULARITY and k not in result.left_out}
    assert sorted(alone[: len(fitted)]) == sorted([k] for k in fitted)
    assert len(alone[len(fitted)]) == 2  # the two best alone, together
    item_model = [t.params for t in result.trials if t.stage == "item_model"]
    assert item_model[1] == {"model": "ease", "l2": 200.0}


def test_every_trial_is_judged_over_two_time_folds_that_do_not_overlap(
    events: pl.DataFrame, tuned: Any
) -> None:
    result, _ = tuned
    assert result.folds == 2 and "mean over 2 time folds" in result.message
    latest, before = holdout_days_folds(events, END, 2, 2)
    assert before.test["ts"].max() < latest.holdout_start <= latest.test["ts"].min()
    assert before.train["ts"].max() < before.holdout_start <= before.test["ts"].min()
    assert before.holdout_start == latest.holdout_start - dt.timedelta(days=2)
    one = run(events, TuneParams(**{**SMALL.__dict__, "folds": 1}))
    assert one.folds == 1 and one.baseline != result.baseline
