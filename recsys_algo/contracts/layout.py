"""Storage layout: every key the platform reads or writes is built here (docs/contracts.md)."""

from __future__ import annotations

import datetime as dt
import re

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.manifest import check_version
from recsys_algo.contracts.names import check_name

ARTIFACT_EXT = "arrow"


def _scope(tenant: str, surface: str) -> str:
    return f"{check_name('tenant', tenant)}/{check_name('surface', surface)}"


def raw_prefix(tenant: str, surface: str, day: dt.date) -> str:
    return f"raw/{_scope(tenant, surface)}/{day.isoformat()}"


def catalog_key(tenant: str) -> str:
    return f"catalog/{check_name('tenant', tenant)}/items.jsonl"


def staging_key(tenant: str, surface: str, day: dt.date, name: str) -> str:
    return f"staging/{_scope(tenant, surface)}/{day.isoformat()}/{name}"


def canonical_key(tenant: str, surface: str, day: dt.date) -> str:
    return f"canonical/{_scope(tenant, surface)}/{day.isoformat()}.parquet"


def quarantine_key(tenant: str, surface: str, day: dt.date) -> str:
    return f"quarantine/{_scope(tenant, surface)}/{day.isoformat()}/rejected.jsonl"


def artifact_prefix(tenant: str, surface: str, kind: str) -> str:
    return f"artifacts/{_scope(tenant, surface)}/{check_name('kind', kind)}/"


def artifact_key(tenant: str, surface: str, kind: str, sha256: str) -> str:
    return f"{artifact_prefix(tenant, surface, kind)}{sha256}.{ARTIFACT_EXT}"


def history_prefix(tenant: str, surface: str) -> str:
    return f"registry/{_scope(tenant, surface)}/manifests"


def history_key(tenant: str, surface: str, version: str) -> str:
    return f"{history_prefix(tenant, surface)}/{check_version(version)}.json"


def audit_key(tenant: str, surface: str, stamp: str, action: str) -> str:
    return f"registry/{_scope(tenant, surface)}/audit/{stamp}-{action}.json"


POINTER_ROOT = "registry/current"


def pointer_key(tenant: str, surface: str) -> str:
    return f"{POINTER_ROOT}/{_scope(tenant, surface)}/manifest.json"


HOLD_FILE = "hold.json"


def hold_key(tenant: str, surface: str) -> str:
    """Beside the pointer: while it exists, publishing never moves the pointer."""
    return f"{POINTER_ROOT}/{_scope(tenant, surface)}/{HOLD_FILE}"


RECIPE_ROOT = "recipes"
# The global default's folder: no tenant name can be "_default" (names start with [a-z0-9]).
DEFAULT_RECIPE_FOLDER = "_default"


def _recipe_folder(scope: tuple[str, str] | None) -> str:
    where = DEFAULT_RECIPE_FOLDER if scope is None else _scope(*scope)
    return f"{RECIPE_ROOT}/{where}"


def recipe_pointer_key(scope: tuple[str, str] | None) -> str:
    """The current recipe of a (tenant, surface) scope, or of the global default (None)."""
    return f"{_recipe_folder(scope)}/current.json"


def recipe_versions_prefix(scope: tuple[str, str] | None) -> str:
    return f"{_recipe_folder(scope)}/versions"


def recipe_version_key(scope: tuple[str, str] | None, version: str) -> str:
    return f"{recipe_versions_prefix(scope)}/{check_version(version)}.json"


LANDING_SUFFIX = ".jsonl"
LANDING_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,194}\.jsonl$"
_LANDING_NAME_RE = re.compile(LANDING_NAME_PATTERN)


def check_landing_name(name: str) -> str:
    """A plain file name ending in .jsonl (no folders, no leading dot, no '..')."""
    if not isinstance(name, str) or not _LANDING_NAME_RE.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"landing file name {str(name)[:80]!r} is invalid: "
            f"it must match {LANDING_NAME_PATTERN} and not contain '..'"
        )
    return name
