"""ModelParams: every kind's parameters, the blend and the evaluation, from JSON overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.evaluation.params import EvalParams
from recsys_algo.kinds.kind import KINDS, Kind
from recsys_algo.kinds.registry import default_params
from recsys_algo.serving.recommender import BlendParams

BLEND_SECTION = "blend"
EVALUATION_SECTION = "evaluation"


@dataclass(frozen=True)
class ModelParams:
    """What one run builds, evaluates and serves with; recorded in the manifest's lineage."""

    kinds: Mapping[Kind, Any] = field(default_factory=default_params)
    blend: BlendParams = field(default_factory=BlendParams)
    evaluation: EvalParams = field(default_factory=EvalParams)

    def of(self, kind: Kind) -> Any:
        """The parameters of one kind."""
        return self.kinds[kind]

    def sections(self) -> dict[str, Any]:
        """Section name -> parameters: the kinds in Kind order, then blend and evaluation."""
        return {
            **{kind.value: self.kinds[kind] for kind in KINDS},
            BLEND_SECTION: self.blend,
            EVALUATION_SECTION: self.evaluation,
        }

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Mapping[str, Any]]) -> ModelParams:
        """Defaults with per-section overrides, e.g. {"blend": {"rank_offset": 5}}."""
        return cls().with_overrides(overrides)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> ModelParams:
        """These parameters with per-section overrides on top: a knob given replaces the
        current value, others stay. Every value is checked against the knob's type first
        (a recipe is operator input): ConfigError names the section and the knob."""
        if not isinstance(overrides, Mapping):
            raise ConfigError('model parameters must be {"section": {"knob": value}, ...}')
        sections = self.sections()
        unknown = set(overrides) - set(sections)
        if unknown:
            raise ConfigError(
                f"model parameters: unknown section(s) {', '.join(sorted(map(str, unknown)))}; "
                f"known: {', '.join(sections)}"
            )
        built = {}
        for name, current in sections.items():
            section = overrides.get(name, {})
            if not isinstance(section, Mapping):
                raise ConfigError(f"model parameters: {name} must be an object of knobs")
            fields = {f.name: f for f in dataclasses.fields(current)}
            bad = set(section) - set(fields)
            if bad:
                raise ConfigError(
                    f"model parameters: {name} has no {', '.join(sorted(map(str, bad)))}; "
                    f"known: {', '.join(sorted(fields))}"
                )
            given = {
                knob: typed(f"{name}.{knob}", getattr(current, knob), str(fields[knob].type), value)
                for knob, value in section.items()
            }
            try:
                built[name] = dataclasses.replace(current, **given)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"model parameters: {name}: {exc}") from None
        return ModelParams(
            kinds={kind: built[kind.value] for kind in KINDS},
            blend=built[BLEND_SECTION],
            evaluation=built[EVALUATION_SECTION],
        )

    def as_dict(self) -> dict[str, Any]:
        return {name: params.as_dict() for name, params in self.sections().items()}

    def kinds_as_dict(self) -> dict[str, Any]:
        """Every kind's parameters by kind name (the lineage's shape)."""
        return {kind.value: self.kinds[kind].as_dict() for kind in KINDS}


def typed(where: str, current: Any, annotation: str, value: Any) -> Any:
    """value, checked to have the type of the knob's current value (JSON lists become tuples,
    integers are accepted where a float is, an object is merged into the current mapping);
    ConfigError naming the knob otherwise."""
    if value is None:
        if "None" in annotation:
            return None
        raise ConfigError(f"model parameters: {where} must not be null")
    expected: str | None = None
    if isinstance(current, bool):
        expected = None if isinstance(value, bool) else "true or false"
    elif isinstance(current, int):
        expected = None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    elif isinstance(current, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        expected = "a number"
    elif isinstance(current, str) or current is None:
        expected = None if isinstance(value, str) else "a string"
    elif isinstance(current, tuple):
        if not isinstance(value, list | tuple):
            expected = "a list"
        elif current:
            return tuple(typed(f"{where}[]", current[0], "", v) for v in value)
        else:
            return tuple(value)
    elif isinstance(current, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            expected = "an object"
        elif current:
            # Merged: {"weights": {"cooc": 0.5}} changes cooc's weight and keeps the others.
            sample = next(iter(current.values()))
            return {
                **current,
                **{k: typed(f"{where}.{k}", sample, "", v) for k, v in value.items()},
            }
        else:
            return dict(value)
    if expected is not None:
        raise ConfigError(f"model parameters: {where} must be {expected}, got {value!r:.80}")
    return value
