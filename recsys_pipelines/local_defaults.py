"""The `recsys` program's defaults in a checkout: the files `make demo` creates, when no variable
says otherwise, so a command typed outside `make` finds the same data, keys and instance."""

from __future__ import annotations

import tomllib
from collections.abc import MutableMapping
from pathlib import Path

from recsys_algo.config import SIGNING_KEYS_ENV, SIGNING_KEYS_FILE_ENV, STORAGE_URL_ENV

PROJECT_NAME = "recsys-platform"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
# Relative to the checkout's root; the Makefile's LOCAL_ENV names the same.
LOCAL_STORAGE = ".recsys"
LOCAL_KEY_FILE = ".secrets/signing_keys"
LOCAL_DAGSTER_HOME = ".dagster_home"


def checkout_root(start: Path) -> Path | None:
    """The nearest folder at or above start whose pyproject.toml is this project's."""
    for folder in (start, *start.parents):
        project = folder / "pyproject.toml"
        if not project.is_file():
            continue
        try:
            name = tomllib.loads(project.read_text(encoding="utf-8")).get("project", {}).get("name")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if name == PROJECT_NAME:
            return folder
    return None


def _unset(environ: MutableMapping[str, str], *names: str) -> bool:
    # Blank counts as unset, as in the settings layer.
    return all(not environ.get(name, "").strip() for name in names)


def local_defaults(environ: MutableMapping[str, str], cwd: Path) -> dict[str, str]:
    """What to set in a checkout around cwd (nothing outside one): the storage under its root,
    and the signing-key file and Dagster instance if they exist, each where no variable is set."""
    root = checkout_root(cwd.resolve())
    if root is None:
        return {}
    found: dict[str, str] = {}
    if _unset(environ, STORAGE_URL_ENV):
        # The checkout's root, not the folder the command runs in (settings' own default).
        found[STORAGE_URL_ENV] = (root / LOCAL_STORAGE).as_uri()
    key_file = root / LOCAL_KEY_FILE
    if _unset(environ, SIGNING_KEYS_ENV, SIGNING_KEYS_FILE_ENV) and key_file.is_file():
        found[SIGNING_KEYS_FILE_ENV] = str(key_file)
    home = root / LOCAL_DAGSTER_HOME
    if _unset(environ, DAGSTER_HOME_ENV) and (home / "dagster.yaml").is_file():
        found[DAGSTER_HOME_ENV] = str(home)
    return found


def apply_local_defaults(environ: MutableMapping[str, str], cwd: Path) -> str | None:
    """Set the local defaults in environ; the line saying which were used (None: none)."""
    found = local_defaults(environ, cwd)
    environ.update(found)
    if not found:
        return None
    used = ", ".join(f"{name}={value}" for name, value in found.items())
    return f"recsys: no variable set, using this checkout's local defaults: {used}"
