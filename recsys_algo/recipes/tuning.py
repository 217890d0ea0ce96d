"""Per-scope tuning: search each kind's main parameters, then the blend's weights, on held-out
data, within a trial and a time budget; deterministic given the seed (optuna's TPE sampler,
trials one at a time) as long as the trial budget, not the clock, ends each search.

A trial is judged over every time fold given (the mean of each fold's objective): what wins on
one fold's few weeks alone need not carry over to the next. The objective counts the held-out
protocols the scope serves (TuneParams.protocols: users, sessions or both).

Kinds are tuned one at a time, each judged alone (recipes.judge), in kinds.search.SPACES order,
starting from the current parameters (their value is the first trial, so a kind never gets worse
on the tuning folds), then kinds.search.STARTS (item_model's algorithms), then the sampler's
points, each kind within an equal share of the kinds' time left; a kind that scores 0 with its
current parameters is not searched. Then the blend is tuned over the kinds: its first points are
the current weights, the shipped defaults, each kind alone and the two best alone together, then
the sampler's. The result is the overrides that beat the current parameters, or none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna

from recsys_algo.evaluation.split import Split
from recsys_algo.kinds.kind import POPULARITY, Kind
from recsys_algo.kinds.registry import Inputs
from recsys_algo.kinds.search import (
    SPACES,
    STARTS,
    alone_point,
    blend_point,
    blend_space,
)
from recsys_algo.recipes.folds import Fold, folds_of
from recsys_algo.recipes.judge import Cached, described
from recsys_algo.recipes.params import BLEND_SECTION, ModelParams
from recsys_algo.recipes.tune_params import TuneParams
from recsys_algo.serving.recommender import BlendParams

BASELINE, BLEND = "baseline", BLEND_SECTION
# Kinds get this share of the time budget; the blend (cheap per trial) keeps the rest.
KIND_SHARE = 0.8


@dataclass(frozen=True)
class TrialRecord:
    stage: str  # "baseline", a kind, or "blend"
    number: int
    value: float
    params: dict[str, Any]
    seconds: float


@dataclass
class TuneResult:
    # None: nothing measured; {}: nothing beat the current parameters. Either way, no recipe.
    overrides: dict[str, dict[str, Any]] | None
    message: str
    baseline: float | None = None
    best: float | None = None
    trials: list[TrialRecord] = field(default_factory=list)
    stopped_by_time: bool = False
    left_out: dict[str, str] = field(default_factory=dict)  # kind or fold -> why not used
    folds: int = 0  # the time folds every trial was judged on


def tune(
    inputs: Inputs,
    splits: Sequence[Split],
    base: ModelParams,
    params: TuneParams,
    on_trial: Callable[[TrialRecord], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TuneResult:
    """The overrides (kinds, then blend) that score best over the splits' held-out cases (the
    first split is the latest; a later one without enough cases or data is left out)."""
    start = clock()  # the budget covers the first fits of every fold too
    found = folds_of(inputs, splits, base, params.protocols)
    if isinstance(found, str):
        return TuneResult(None, found)
    folds, skipped = found
    run = _Run(folds, base, params, on_trial, clock)
    run.result.left_out.update(skipped)
    run.result.folds = len(folds)
    baseline = run.blend_value(base.blend)
    result = run.result
    result.baseline = baseline
    run.record(BASELINE, 0, baseline, {}, 0.0)
    kinds = [(kind, space) for kind, space in SPACES.items() if kind in folds[0].tables]
    kinds_end = start + KIND_SHARE * params.time_budget_seconds
    for i, (kind, space) in enumerate(kinds):
        now = clock()
        if now >= kinds_end:
            result.stopped_by_time = True
            break
        # An equal share of the time left: one slow kind cannot starve the kinds after it.
        run.tune_kind(kind, space, now + (kinds_end - now) / (len(kinds) - i))
    run.tune_blend(start + params.time_budget_seconds)
    if result.best is None or result.best <= baseline:
        result.overrides = {}
        result.message = f"kept the current parameters: nothing beat their {baseline:.4f}"
    else:
        result.message = f"objective {result.best:.4f}, current parameters {baseline:.4f}"
    counted = " and ".join(folds[0].judge.protocols)
    result.message += f" (mean over {len(folds)} time fold{'s' * (len(folds) > 1)}; {counted})"
    return result


class _Run:
    """One tuning run's state: the folds' fitted tables and the overrides found so far."""

    def __init__(
        self,
        folds: list[Fold],
        base: ModelParams,
        params: TuneParams,
        on_trial: Callable[[TrialRecord], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.folds, self.base, self.params = folds, base, params
        self.on_trial, self.clock = on_trial, clock
        self.chosen = base
        self.result = TuneResult({}, "")

    def record(
        self, stage: str, number: int, value: float, chosen: Mapping[str, Any], seconds: float
    ) -> None:
        trial = TrialRecord(str(stage), number, value, described(chosen), round(seconds, 3))
        self.result.trials.append(trial)
        if self.on_trial is not None:
            self.on_trial(trial)

    def blend_value(self, blend: BlendParams, cached: Sequence[Cached] | None = None) -> float:
        """The blend's mean objective over the folds (cached: their candidates, computed once)."""
        cached = cached or [fold.blend(self.chosen) for fold in self.folds]
        pairs = zip(cached, self.folds, strict=True)
        return sum(c.value(fold.judge, blend) for c, fold in pairs) / len(self.folds)

    def _kind_value(self, kind: Kind, params: ModelParams) -> tuple[float, list[Any]]:
        """The mean over the folds that fit the kind (the latest always does)."""
        values, tables = [], []
        for fold in self.folds:
            value, table = fold.kind_value(kind, params) if kind in fold.tables else (None, None)
            if value is not None:
                values.append(value)
            tables.append(table)
        return sum(values) / len(values), tables

    def tune_kind(self, kind: Kind, space: Callable[..., dict[str, Any]], deadline: float) -> None:
        began = self.clock()
        best, best_tables = self._kind_value(kind, self.chosen)
        self.record(kind, 0, best, {}, self.clock() - began)
        if best == 0.0:  # e.g. revisit when users' seen items are excluded: no knob helps
            self.result.left_out[str(kind)] = f"{kind}: scores 0 on the held-out cases"
            return
        best_overrides: dict[str, Any] = {}

        def objective(trial: optuna.Trial) -> float:
            nonlocal best, best_tables, best_overrides
            began = self.clock()
            overrides = space(trial)
            params = self.chosen.with_overrides({kind.value: overrides})
            value, tables = self._kind_value(kind, params)
            self.record(kind, trial.number + 1, value, overrides, self.clock() - began)
            if value > best:
                best, best_tables, best_overrides = value, tables, overrides
            return value

        self._optimize(objective, self.params.kind_trials - 1, deadline, STARTS.get(kind, ()))
        if best_overrides:
            self.chosen = self.chosen.with_overrides({kind.value: best_overrides})
            for fold, table in zip(self.folds, best_tables, strict=True):
                if table is not None:
                    fold.tables[kind] = table
            assert self.result.overrides is not None
            self.result.overrides[str(kind)] = best_overrides

    def tune_blend(self, deadline: float) -> None:
        cached = [fold.blend(self.chosen) for fold in self.folds]
        kinds = list(cached[0].model.kinds)
        began = self.clock()
        best = self.blend_value(self.chosen.blend, cached)
        self.record(BLEND, 0, best, {}, self.clock() - began)
        best_blend: dict[str, Any] = {}
        offset = self.chosen.blend.rank_offset
        starts = _distinct(
            [
                blend_point(self.chosen.blend.weights, offset, kinds, POPULARITY),
                blend_point(BlendParams().weights, BlendParams().rank_offset, kinds, POPULARITY),
            ]
        )
        solo = {len(starts) + i: kind for i, kind in enumerate(k for k in kinds if k != POPULARITY)}
        starts += [alone_point(kinds, [kind], offset, POPULARITY) for kind in solo.values()]
        alone: dict[str, float] = {}  # kind -> its value as the blend's only kind

        def objective(trial: optuna.Trial) -> float:
            nonlocal best, best_blend
            began = self.clock()
            overrides = blend_space(trial, kinds, POPULARITY)
            blend = self.chosen.with_overrides({BLEND: overrides}).blend
            value = self.blend_value(blend, cached)
            weights = overrides["weights"]
            flat = {"rank_offset": overrides["rank_offset"], **weights}
            self.record(BLEND, trial.number + 1, value, flat, self.clock() - began)
            if trial.number in solo:
                alone[solo[trial.number]] = value
            if value > best:
                best, best_blend = value, overrides
            return value

        study = self._optimize(objective, self.params.blend_trials - 1, deadline, starts, True)
        left = self.params.blend_trials - 1 - len(study.trials) if study else 0
        if study is not None and left > 0:
            if len(alone) >= 2:  # the two best kinds alone, together: known only now
                pair = sorted(alone, key=lambda k: (-alone[k], k))[:2]
                study.enqueue_trial(alone_point(kinds, pair, offset, POPULARITY))
            self._continue(study, objective, left, deadline)
        self.result.best = best
        if best_blend:
            assert self.result.overrides is not None
            self.result.overrides[BLEND] = best_blend

    def _optimize(
        self,
        objective: Callable[[optuna.Trial], float],
        trials: int,
        deadline: float,
        starts: Sequence[Mapping[str, Any]] = (),
        pause: bool = False,
    ) -> optuna.Study | None:
        """Run `trials` trials, the starts first; with pause, stop after the starts (the rest
        runs with _continue) and return the study."""
        if trials <= 0:
            return None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.params.seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        for point in list(starts)[:trials]:
            study.enqueue_trial(dict(point))
        first = min(len(starts), trials) if pause else trials
        self._continue(study, objective, first, deadline)
        return study

    def _continue(
        self,
        study: optuna.Study,
        objective: Callable[[optuna.Trial], float],
        trials: int,
        deadline: float,
    ) -> None:
        if trials <= 0:
            return
        if self.clock() >= deadline:
            self.result.stopped_by_time = True
            return

        def out_of_time(study: optuna.Study, _: Any) -> None:
            if self.clock() >= deadline:
                self.result.stopped_by_time = True
                study.stop()

        study.optimize(objective, n_trials=trials, callbacks=[out_of_time])


def _distinct(points: list[dict[str, float]]) -> list[dict[str, float]]:
    return [p for i, p in enumerate(points) if p not in points[:i]]
