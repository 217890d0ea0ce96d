"""A scope's effective parameters: the deployment's (RECSYS_MODEL_PARAMS), then the global
default recipe's, then the scope's own recipe's; and what the lineage records of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.recipe import Recipe
from recsys_algo.recipes.params import ModelParams


@dataclass(frozen=True)
class ScopeParams:
    params: ModelParams
    lineage: dict[str, str | None]  # the recipe versions applied: {"default": .., "scope": ..}

    @property
    def gate_margin(self) -> float:
        return self.params.evaluation.gate_margin


def check_parameters(parameters: Any, where: str = "recipe") -> dict[str, dict[str, Any]]:
    """A recipe's parameters if ModelParams accepts them (every section, knob, type and range),
    else ConfigError naming where and what."""
    if not isinstance(parameters, Mapping) or not all(
        isinstance(name, str) and isinstance(section, Mapping)
        for name, section in parameters.items()
    ):
        raise ConfigError(f'{where}: parameters must be {{"section": {{"knob": value}}, ...}}')
    try:
        ModelParams.from_overrides(parameters)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return {name: dict(section) for name, section in parameters.items()}


def resolve(base: ModelParams, default: Recipe | None, scope: Recipe | None) -> ScopeParams:
    """base, then the default recipe's overrides, then the scope's (the most specific wins)."""
    params = base
    for recipe in (default, scope):
        if recipe is None:
            continue
        try:
            params = params.with_overrides(recipe.parameters)
        except ConfigError as exc:
            raise ConfigError(f"recipe {recipe.scope} {recipe.version}: {exc}") from None
    return ScopeParams(
        params,
        {
            "default": None if default is None else default.version,
            "scope": None if scope is None else scope.version,
        },
    )
