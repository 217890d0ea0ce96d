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
        sections = cls().sections()
        unknown = set(overrides) - set(sections)
        if unknown:
            raise ConfigError(
                f"model parameters: unknown section(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sections)}"
            )
        built = {}
        for name, current in sections.items():
            given = dict(overrides.get(name, {}))
            known = {f.name for f in dataclasses.fields(current)}
            bad = set(given) - known
            if bad:
                raise ConfigError(
                    f"model parameters: {name} has no {', '.join(sorted(bad))}; "
                    f"known: {', '.join(sorted(known))}"
                )
            if "ks" in given:
                given["ks"] = tuple(given["ks"])
            try:
                built[name] = dataclasses.replace(current, **given)
            except TypeError as exc:
                raise ConfigError(f"model parameters: {name}: {exc}") from None
        return cls(
            kinds={kind: built[kind.value] for kind in KINDS},
            blend=built[BLEND_SECTION],
            evaluation=built[EVALUATION_SECTION],
        )

    def as_dict(self) -> dict[str, Any]:
        return {name: params.as_dict() for name, params in self.sections().items()}

    def kinds_as_dict(self) -> dict[str, Any]:
        """Every kind's parameters by kind name (the lineage's shape)."""
        return {kind.value: self.kinds[kind].as_dict() for kind in KINDS}
