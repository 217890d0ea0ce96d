"""The tuning job's time folds: per held-out split, its judge, its training inputs and every
kind fitted on them with the current parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from recsys_algo.contracts.errors import ValidationGateError
from recsys_algo.evaluation.sessions import session_cases
from recsys_algo.evaluation.split import Split, holdout
from recsys_algo.kinds.kind import POPULARITY, Kind
from recsys_algo.kinds.registry import SPECS, Inputs
from recsys_algo.loading.model import load_model
from recsys_algo.recipes.judge import PROTOCOLS, SESSIONS, USERS, Cached, Judge
from recsys_algo.recipes.params import ModelParams


@dataclass
class Fold:
    """One held-out split: how a trial is judged on it and the kinds fitted on its training."""

    judge: Judge
    train: Inputs
    tables: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # kind -> why it has no table

    def fit_all(self, params: ModelParams) -> None:
        for kind, spec in SPECS.items():
            try:
                table = spec.compute(self.train, params.of(kind)).to_arrow()
            except ValidationGateError as exc:  # not enough data for this kind: left out
                self.left_out[str(kind)] = str(exc)
                continue
            if table.num_rows:
                self.tables[kind] = table
            else:
                self.left_out[str(kind)] = f"{kind}: no rows"

    def blend(self, params: ModelParams) -> Cached:
        """The blend of every fitted kind, its candidates for the held-out queries cached."""
        model = load_model(self.tables, params.kinds_as_dict())
        return Cached.of(self.judge, model, params.blend)

    def kind_value(self, kind: Kind, params: ModelParams) -> tuple[float, Any]:
        """One kind fitted with params, judged alone: (value, its table)."""
        table = SPECS[kind].compute(self.train, params.of(kind)).to_arrow()
        model = load_model(
            {POPULARITY: self.tables[POPULARITY], kind: table}, params.kinds_as_dict()
        )
        return self.judge.kind_value(model, kind, params.blend), table


def folds_of(
    inputs: Inputs,
    splits: Sequence[Split],
    base: ModelParams,
    counted: Sequence[str] = PROTOCOLS,
) -> tuple[list[Fold], dict[str, str]] | str:
    """The folds to judge on, fitted with base, and why any later split was left out; or why
    nothing can be tuned (the latest split has too few held-out cases of the counted
    protocols)."""
    folds: list[Fold] = []
    skipped: dict[str, str] = {}
    for number, split in enumerate(splits, start=1):
        judge = Judge(
            holdout(split, base.evaluation),
            session_cases(split, base.evaluation),
            base.evaluation,
            tuple(counted),
        )
        if not judge.protocols:
            found = {
                USERS: f"{len(judge.users.users)} held-out users "
                f"(needs {base.evaluation.min_users})",
                SESSIONS: f"{len(judge.cases)} held-out session positions "
                f"(needs {base.evaluation.min_session_cases})",
            }
            message = " and ".join(found[protocol] for protocol in PROTOCOLS if protocol in counted)
            if number == 1:
                return f"not tuned: {message}"
            skipped[f"fold {number}"] = message
            continue
        fold = Fold(judge, Inputs(split.train, inputs.catalog, split.holdout_start))
        if number > 1 and split.train.is_empty():
            skipped[f"fold {number}"] = "no training events before it"
            continue
        fold.fit_all(base)
        if POPULARITY not in fold.tables:
            if number == 1:
                raise ValidationGateError(f"tuning: {fold.left_out.get(POPULARITY)}")
            skipped[f"fold {number}"] = str(fold.left_out.get(POPULARITY))
            continue
        # A kind the latest fold cannot fit is left out of the search (reported once).
        if number == 1:
            skipped.update(fold.left_out)
        folds.append(fold)
    return folds, skipped
