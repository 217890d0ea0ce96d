"""Recipes in storage: immutable versions and a pointer per scope (and one for the default).

Writing is version first (create-exclusive), pointer last (compare-and-swap against the pointer
read before): a writer that lost a race is told so (exit 6) and nothing it wrote is served.
"""

from __future__ import annotations

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConcurrentPublishError, NotFoundError
from recsys_algo.contracts.recipe import Recipe, decode_recipe, encode_recipe, scope_name
from recsys_algo.store.storage import Storage

Scope = tuple[str, str] | None  # (tenant, surface), or None: the global default


def read_current_recipe(storage: Storage, scope: Scope) -> Recipe | None:
    """The scope's current recipe, or None when it has none."""
    found = _read_pointer(storage, scope)
    return None if found is None else found[0]


def _read_pointer(storage: Storage, scope: Scope) -> tuple[Recipe, str] | None:
    key = layout.recipe_pointer_key(scope)
    try:
        raw, token = storage.read_with_token(key)
    except NotFoundError:
        return None
    return decode_recipe(raw, storage.uri_for(key), scope), token


def read_recipe_version(storage: Storage, scope: Scope, version: str) -> Recipe:
    key = layout.recipe_version_key(scope, version)
    try:
        raw = storage.read_bytes(key)
    except NotFoundError:
        raise NotFoundError(f"{scope_name(scope)}: no recipe version {version}") from None
    return decode_recipe(raw, storage.uri_for(key), scope)


def recipe_versions(storage: Storage, scope: Scope) -> list[str]:
    """Every stored version of the scope's recipe, oldest first."""
    prefix = layout.recipe_versions_prefix(scope)
    names = [key.rsplit("/", 1)[-1] for key in storage.list(prefix)]
    return sorted(name.removesuffix(".json") for name in names if name.endswith(".json"))


def write_recipe(storage: Storage, recipe: Recipe, scope: Scope) -> None:
    """Store a new version and make it the scope's current recipe."""
    before = _read_pointer(storage, scope)
    data = encode_recipe(recipe)
    storage.write_new(layout.recipe_version_key(scope, recipe.version), data)
    try:
        storage.compare_and_swap(
            layout.recipe_pointer_key(scope), data, None if before is None else before[1]
        )
    except ConcurrentPublishError:
        raise ConcurrentPublishError(
            f"{scope_name(scope)}: another recipe was set while {recipe.version} was written; "
            "it is stored but not current (set it again to make it current)"
        ) from None
