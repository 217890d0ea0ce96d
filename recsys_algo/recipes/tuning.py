"""Per-scope tuning: search each kind's main parameters, then the blend's weights, on held-out
data, within a trial and a time budget; deterministic given the seed (optuna's TPE sampler,
trials one at a time) as long as the trial budget, not the clock, ends each search.

Kinds are tuned one at a time, each judged alone (recipes.judge), in kinds.search.SPACES order,
starting from the current parameters (their value is the first trial, so a kind never gets
worse on the tuning split), each within an equal share of the kinds' time left; a kind that
scores 0 with its current parameters is not searched. Then the blend is tuned over the best
kinds. The result is the
overrides that beat the current parameters, or none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.evaluation.sessions import session_cases
from recsys_algo.evaluation.split import Split, holdout
from recsys_algo.kinds.kind import POPULARITY, Kind
from recsys_algo.kinds.registry import SPECS, Inputs
from recsys_algo.kinds.search import SPACES, blend_space
from recsys_algo.loading.model import load_model
from recsys_algo.recipes.judge import Cached, Judge, described
from recsys_algo.recipes.params import BLEND_SECTION, ModelParams

BASELINE, BLEND = "baseline", BLEND_SECTION
# Kinds get this share of the time budget; the blend (cheap per trial) keeps the rest.
KIND_SHARE = 0.8


@dataclass(frozen=True)
class TuneParams:
    seed: int = 42
    kind_trials: int = 12  # per kind, the current parameters included
    blend_trials: int = 60
    time_budget_seconds: float = 480.0
    holdout_days: int = 7  # the tuning split: the window's last days are held out

    def __post_init__(self) -> None:
        for name, low, high in (
            ("seed", 0, 2**32 - 1),
            ("kind_trials", 1, 1000),
            ("blend_trials", 1, 10_000),
            ("holdout_days", 1, 365),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"tuning: {name} must be an integer in {low}..{high}, got {value!r}"
                )
        budget = self.time_budget_seconds
        if not (
            isinstance(budget, int | float) and math.isfinite(budget) and 1 <= budget <= 86_400
        ):
            raise ConfigError(f"tuning: time_budget_seconds must be in 1..86400, got {budget!r}")


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
    left_out: dict[str, str] = field(default_factory=dict)  # kind -> why it is not tuned


def tune(
    inputs: Inputs,
    split: Split,
    base: ModelParams,
    params: TuneParams,
    on_trial: Callable[[TrialRecord], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TuneResult:
    """The overrides (kinds, then blend) that score best on split's held-out cases."""
    judge = Judge(
        holdout(split, base.evaluation), session_cases(split, base.evaluation), base.evaluation
    )
    if not judge.protocols:
        return TuneResult(
            None,
            f"not tuned: {len(judge.users.users)} held-out users (needs "
            f"{base.evaluation.min_users}) and {len(judge.cases)} held-out session positions "
            f"(needs {base.evaluation.min_session_cases})",
        )
    start = clock()
    run = _Run(
        judge,
        Inputs(split.train, inputs.catalog, split.holdout_start),
        base,
        params,
        on_trial,
        clock,
    )
    run.fit_all()
    result = run.result
    baseline = run.blend_model(run.tables, base).value(judge, base.blend)
    result.baseline = baseline
    run.record(BASELINE, 0, baseline, {}, 0.0)
    kinds = [(kind, space) for kind, space in SPACES.items() if kind in run.tables]
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
    return result


class _Run:
    """One tuning run's state: the fitted tables and the overrides found so far."""

    def __init__(
        self,
        judge: Judge,
        train: Inputs,
        base: ModelParams,
        params: TuneParams,
        on_trial: Callable[[TrialRecord], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.judge, self.train, self.base, self.params = judge, train, base, params
        self.on_trial, self.clock = on_trial, clock
        self.tables: dict[str, Any] = {}
        self.chosen = base
        self.result = TuneResult({}, "")

    def record(
        self, stage: str, number: int, value: float, chosen: Mapping[str, Any], seconds: float
    ) -> None:
        trial = TrialRecord(str(stage), number, value, described(chosen), round(seconds, 3))
        self.result.trials.append(trial)
        if self.on_trial is not None:
            self.on_trial(trial)

    def fit_all(self) -> None:
        for kind, spec in SPECS.items():
            try:
                table = spec.compute(self.train, self.base.of(kind)).to_arrow()
            except ValidationGateError as exc:  # not enough data for this kind: left out
                self.result.left_out[str(kind)] = str(exc)
                continue
            if table.num_rows:
                self.tables[kind] = table
            else:
                self.result.left_out[str(kind)] = f"{kind}: no rows"
        if POPULARITY not in self.tables:
            raise ValidationGateError(f"tuning: {self.result.left_out.get(POPULARITY)}")

    def blend_model(self, tables: Mapping[str, Any], params: ModelParams) -> Cached:
        model = load_model(tables, params.kinds_as_dict())
        return Cached.of(self.judge, model, params.blend)

    def _kind_value(self, kind: Kind, params: ModelParams) -> tuple[float, Any]:
        table = SPECS[kind].compute(self.train, params.of(kind)).to_arrow()
        model = load_model(
            {POPULARITY: self.tables[POPULARITY], kind: table}, params.kinds_as_dict()
        )
        return self.judge.kind_value(model, kind, params.blend), table

    def tune_kind(self, kind: Kind, space: Callable[..., dict[str, Any]], deadline: float) -> None:
        began = self.clock()
        best, best_table = self._kind_value(kind, self.chosen)
        self.record(kind, 0, best, {}, self.clock() - began)
        if best == 0.0:  # e.g. revisit when users' seen items are excluded: no knob helps
            self.result.left_out[str(kind)] = f"{kind}: scores 0 on the held-out cases"
            return
        best_overrides: dict[str, Any] = {}

        def objective(trial: optuna.Trial) -> float:
            nonlocal best, best_table, best_overrides
            began = self.clock()
            overrides = space(trial)
            params = self.chosen.with_overrides({kind.value: overrides})
            value, table = self._kind_value(kind, params)
            self.record(kind, trial.number + 1, value, overrides, self.clock() - began)
            if value > best:
                best, best_table, best_overrides = value, table, overrides
            return value

        self._optimize(objective, self.params.kind_trials - 1, deadline)
        if best_overrides:
            self.chosen = self.chosen.with_overrides({kind.value: best_overrides})
            self.tables[kind] = best_table
            assert self.result.overrides is not None
            self.result.overrides[str(kind)] = best_overrides

    def tune_blend(self, deadline: float) -> None:
        cached = self.blend_model(self.tables, self.chosen)
        kinds = list(cached.model.kinds)
        began = self.clock()
        best = cached.value(self.judge, self.chosen.blend)
        self.record(BLEND, 0, best, {}, self.clock() - began)
        best_blend: dict[str, Any] = {}

        def objective(trial: optuna.Trial) -> float:
            nonlocal best, best_blend
            began = self.clock()
            overrides = blend_space(trial, kinds, POPULARITY)
            blend = self.chosen.with_overrides({BLEND: overrides}).blend
            value = cached.value(self.judge, blend)
            flat = {"rank_offset": overrides["rank_offset"], **overrides["weights"]}
            self.record(BLEND, trial.number + 1, value, flat, self.clock() - began)
            if value > best:
                best, best_blend = value, overrides
            return value

        self._optimize(objective, self.params.blend_trials - 1, deadline)
        self.result.best = best
        if best_blend:
            assert self.result.overrides is not None
            self.result.overrides[BLEND] = best_blend

    def _optimize(
        self, objective: Callable[[optuna.Trial], float], trials: int, deadline: float
    ) -> None:
        if trials <= 0:
            return
        if self.clock() >= deadline:
            self.result.stopped_by_time = True
            return
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.params.seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)

        def out_of_time(study: optuna.Study, _: Any) -> None:
            if self.clock() >= deadline:
                self.result.stopped_by_time = True
                study.stop()

        study.optimize(objective, n_trials=trials, callbacks=[out_of_time])
