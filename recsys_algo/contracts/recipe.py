"""The recipe contract: a scope's model parameters, versioned and kept in storage.

A recipe holds overrides by section ({"session_knn": {"neighbors": 50}, "blend": {...}}), as
RECSYS_MODEL_PARAMS does for a whole deployment. One global default and one recipe per
(tenant, surface); each version is immutable and the current one is named by a pointer
(docs/contracts.md). What the parameters mean is checked where they are applied
(recsys_algo.recipes.resolve), not here: this module knows the document's shape.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.manifest import check_version

RECIPE_SCHEMA_VERSION = 1
MAX_RECIPE_BYTES = 256 * 1024
DEFAULT_SCOPE = "default"  # the scope field of the global default
SOURCES = ("cli", "tuning")
# Where a manifest's lineage.parameters (and each staged step's) names the recipe versions used.
LINEAGE_KEY = "recipe"


class Recipe(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int
    scope: str  # "tenant/surface" or "default"
    version: str  # 20261123T065012123Z-ab12cd34: creation time and a digest of the content
    created_at: str
    source: str  # who wrote it: "cli" or "tuning"
    note: str = ""
    parameters: dict[str, dict[str, Any]]  # overrides by section
    tuning: dict[str, Any] | None = None  # the study that chose it (tuning only)


def scope_name(scope: tuple[str, str] | None) -> str:
    return DEFAULT_SCOPE if scope is None else f"{scope[0]}/{scope[1]}"


def new_recipe(
    scope: tuple[str, str] | None,
    parameters: dict[str, dict[str, Any]],
    *,
    source: str,
    created_at: dt.datetime,
    note: str = "",
    tuning: dict[str, Any] | None = None,
) -> Recipe:
    """A recipe whose version stamps created_at and a digest of everything else."""
    if source not in SOURCES:
        raise ConfigError(f"recipe source must be one of {', '.join(SOURCES)}, got {source!r}")
    stamp = created_at.astimezone(dt.UTC)
    draft = Recipe(
        schema_version=RECIPE_SCHEMA_VERSION,
        scope=scope_name(scope),
        version="",
        created_at=stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        source=source,
        note=note,
        parameters=parameters,
        tuning=tuning,
    )
    digest = hashlib.sha256(encode_recipe(draft)).hexdigest()[:8]
    version = f"{stamp.strftime('%Y%m%dT%H%M%S%f')[:-3]}Z-{digest}"
    recipe = msgspec.structs.replace(draft, version=version)
    if len(encode_recipe(recipe)) > MAX_RECIPE_BYTES:
        raise ConfigError(f"recipe for {recipe.scope} is over {MAX_RECIPE_BYTES} bytes")
    return recipe


def encode_recipe(recipe: Recipe) -> bytes:
    return msgspec.json.encode(recipe, order="sorted")


def decode_recipe(raw: bytes, where: str, scope: tuple[str, str] | None) -> Recipe:
    """A stored recipe of that scope, or ConfigError naming where it is and what is wrong."""
    if len(raw) > MAX_RECIPE_BYTES:
        raise ConfigError(f"{where}: recipe is {len(raw)} bytes, at most {MAX_RECIPE_BYTES}")
    try:
        recipe = msgspec.json.decode(raw, type=Recipe)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{where}: recipe is not a valid recipe document ({exc})") from None
    if recipe.schema_version != RECIPE_SCHEMA_VERSION:
        raise ConfigError(
            f"{where}: recipe schema_version {recipe.schema_version} is not supported "
            f"(this reader supports {RECIPE_SCHEMA_VERSION})"
        )
    if recipe.scope != scope_name(scope):
        raise ConfigError(f"{where}: recipe belongs to {recipe.scope}, not {scope_name(scope)}")
    check_version(recipe.version)
    return recipe
