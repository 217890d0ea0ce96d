"""`recsys recipe get|set|history|tune`: a scope's (or the global default's) model parameters.

Built by `recipe_group`, which takes the CLI's error handler and name check from
recsys_pipelines.cli, so this module never imports cli (no import loop).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import msgspec

from recsys_algo.config import PipelineEnv
from recsys_algo.contracts.errors import ConfigError, NotFoundError, ValidationGateError
from recsys_algo.contracts.recipe import MAX_RECIPE_BYTES, Recipe, scope_name
from recsys_algo.recipes.judge import PROTOCOLS
from recsys_algo.recipes.params import ModelParams
from recsys_algo.recipes.tune_params import TuneParams
from recsys_algo.recipes.tuning import TrialRecord
from recsys_algo.stages.recipes import scope_params, set_recipe
from recsys_algo.stages.tune import tune_scope
from recsys_algo.store.recipes import (
    Scope,
    read_current_recipe,
    read_recipe_version,
    recipe_versions,
)
from recsys_algo.store.storage import Storage

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
Callback = Callable[[click.Context, click.Parameter, str], str]
NameCheck = Callable[[str], Callback]


def _scope(tenant: str | None, surface: str | None, default: bool) -> Scope:
    if default == (tenant is not None or surface is not None) or (
        not default and None in (tenant, surface)
    ):
        raise click.UsageError("give either --tenant T --surface S, or --default")
    return None if default else (str(tenant), str(surface))


def _read_parameters(path: str) -> Any:
    """The parameters of a recipe file: {"parameters": {...}} or the sections themselves."""
    try:
        stream = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115
        with stream:
            raw = stream.read(MAX_RECIPE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"recipe file {path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_RECIPE_BYTES:
        raise ConfigError(f"recipe file {path} is over {MAX_RECIPE_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"recipe file {path} is not JSON ({exc})") from None
    if isinstance(document, dict) and set(document) <= {"parameters", "note"}:
        return document.get("parameters", {})
    return document


def _echo(recipe: Recipe) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(recipe, order="sorted"), indent=2))


def _base_params() -> ModelParams:
    """The deployment's parameters (RECSYS_MODEL_PARAMS), as the daily runs read them."""
    from recsys_pipelines.defs.resources import PipelineSettings

    return PipelineSettings(model_params=PipelineEnv.load().model_params).params()


def recipe_group(
    handle_errors: Decorator, name: NameCheck, storage: Callable[[], Storage]
) -> click.Group:
    """The `recipe` group wired to the CLI's error handler, name check and storage."""

    def optional(kind: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
        check = name(kind)
        return lambda ctx, param, value: None if value is None else check(ctx, param, value)

    scope_options = [
        click.option("--tenant", callback=optional("tenant"), help="With --surface: one scope."),
        click.option("--surface", callback=optional("surface")),
        click.option("--default", "default", is_flag=True, help="The global default recipe."),
    ]

    def with_scope(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(scope_options):
            fn = option(fn)
        return fn

    @click.group(name="recipe")
    def group() -> None:
        """Model parameters per scope, stored and versioned (the daily runs use them)."""

    @group.command(name="get")
    @with_scope
    @click.option("--version", help="A stored version (default: the current one).")
    @click.option(
        "--effective",
        is_flag=True,
        help="Print every parameter a daily run of the scope uses (defaults, "
        "RECSYS_MODEL_PARAMS, the default recipe, the scope's) and the versions applied.",
    )
    @handle_errors
    def get(
        tenant: str | None, surface: str | None, default: bool, version: str | None, effective: bool
    ) -> None:
        """Print a recipe as JSON (exit 3 when there is none)."""
        scope = _scope(tenant, surface, default)
        store = storage()
        if effective:
            if scope is None or version is not None:
                raise click.UsageError("--effective takes --tenant and --surface, no --version")
            resolved = scope_params(store, *scope, _base_params())
            document = {"recipe": resolved.lineage, "parameters": resolved.params.as_dict()}
            click.echo(json.dumps(document, indent=2, sort_keys=True))
            return
        if version is not None:
            _echo(read_recipe_version(store, scope, version))
            return
        recipe = read_current_recipe(store, scope)
        if recipe is None:
            raise NotFoundError(f"{scope_name(scope)}: no recipe set")
        _echo(recipe)

    @group.command(name="set")
    @with_scope
    @click.argument("path", metavar="FILE")
    @click.option("--note", default="", help="Why: kept with the version.")
    @handle_errors
    def set_(tenant: str | None, surface: str | None, default: bool, path: str, note: str) -> None:
        """Store FILE (JSON; '-' reads stdin) as the scope's new current recipe.

        FILE holds overrides by section, {"session_knn": {"neighbors": 50}, "blend": {...}},
        or {"parameters": {...}}. Every section, knob, type and range is checked first.
        """
        scope = _scope(tenant, surface, default)
        recipe = set_recipe(storage(), scope, _read_parameters(path), source="cli", note=note)
        click.echo(f"recipe {recipe.scope}: {recipe.version}")

    @group.command(name="history")
    @with_scope
    @handle_errors
    def history(tenant: str | None, surface: str | None, default: bool) -> None:
        """Every stored version, oldest first; '*' marks the current one."""
        scope = _scope(tenant, surface, default)
        store = storage()
        current = read_current_recipe(store, scope)
        for version in recipe_versions(store, scope):
            recipe = read_recipe_version(store, scope, version)
            mark = "*" if current is not None and current.version == version else " "
            click.echo(f"{mark} {version}  {recipe.source:6}  {recipe.note}")

    defaults = TuneParams()

    @group.command(name="tune")
    @click.option("--tenant", required=True, callback=name("tenant"))
    @click.option("--surface", required=True, callback=name("surface"))
    @click.option("--seed", type=int, default=defaults.seed, show_default=True)
    @click.option("--kind-trials", type=int, default=defaults.kind_trials, show_default=True)
    @click.option("--blend-trials", type=int, default=defaults.blend_trials, show_default=True)
    @click.option(
        "--time-budget",
        type=float,
        default=defaults.time_budget_seconds,
        show_default=True,
        help="Seconds for the whole search.",
    )
    @click.option("--holdout-days", type=int, default=defaults.holdout_days, show_default=True)
    @click.option(
        "--folds",
        type=int,
        default=defaults.folds,
        show_default=True,
        help="Time folds of --holdout-days each that judge every trial (the latest first).",
    )
    @click.option(
        "--protocol",
        "protocols",
        type=click.Choice(PROTOCOLS),
        multiple=True,
        help="Held-out protocol the objective counts, the ones the scope serves (repeat for "
        "both; default both).",
    )
    @click.option("--window-days", type=click.IntRange(1, 366), default=28, show_default=True)
    @click.option("--trials", "show_trials", is_flag=True, help="Print every trial.")
    @handle_errors
    def tune(
        tenant: str,
        surface: str,
        seed: int,
        kind_trials: int,
        blend_trials: int,
        time_budget: float,
        holdout_days: int,
        folds: int,
        protocols: tuple[str, ...],
        window_days: int,
        show_trials: bool,
    ) -> None:
        """Search the scope's parameters on its latest days, as the tune_scope job does, and
        store the winner as its recipe only when it beats the current parameters."""
        budget = TuneParams(
            seed,
            kind_trials,
            blend_trials,
            time_budget,
            holdout_days,
            folds,
            protocols or PROTOCOLS,
        )

        def echo(trial: TrialRecord) -> None:
            click.echo(f"{trial.stage} #{trial.number}: {trial.value:.4f} {trial.params}")

        report = tune_scope(
            storage(),
            tenant,
            surface,
            _base_params(),
            window_days,
            budget,
            echo if show_trials else None,
        )
        result = report.result
        if result.overrides is None:  # too few held-out cases to judge anything
            raise ValidationGateError(f"{tenant}/{surface} up to {report.day}: {result.message}")
        click.echo(f"{tenant}/{surface} up to {report.day}: {result.message}")
        if report.recipe is None:
            click.echo("no new recipe version")
        else:
            click.echo(f"recipe {report.recipe.scope}: {report.recipe.version}")

    return group
