"""The recipe step: a scope's effective parameters for a run, and setting a recipe."""

from __future__ import annotations

import datetime as dt
from typing import Any

from recsys_algo.contracts.recipe import Recipe, new_recipe, scope_name
from recsys_algo.recipes.params import ModelParams
from recsys_algo.recipes.resolve import ScopeParams, check_parameters, resolve
from recsys_algo.store.recipes import Scope, read_current_recipe, write_recipe
from recsys_algo.store.storage import Storage


def scope_params(storage: Storage, tenant: str, surface: str, base: ModelParams) -> ScopeParams:
    """What a run of (tenant, surface) builds with: base, the default recipe, the scope's."""
    default = read_current_recipe(storage, None)
    own = read_current_recipe(storage, (tenant, surface))
    return resolve(base, default, own)


def set_recipe(
    storage: Storage,
    scope: Scope,
    parameters: Any,
    *,
    source: str,
    note: str = "",
    tuning: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Recipe:
    """Check the parameters, store them as the scope's new current recipe, return it."""
    checked = check_parameters(parameters, f"recipe for {scope_name(scope)}")
    recipe = new_recipe(
        scope,
        checked,
        source=source,
        created_at=now or dt.datetime.now(dt.UTC),
        note=note,
        tuning=tuning,
    )
    write_recipe(storage, recipe, scope)
    return recipe
