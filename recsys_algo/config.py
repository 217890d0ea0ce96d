"""Environment-driven settings shared by pipelines, CLI and service (read at call time)."""

from __future__ import annotations

import os
from pathlib import Path

from recsys_algo.errors import ConfigError
from recsys_algo.signing import SigningKeys, parse_signing_keys

STORAGE_URL_ENV = "RECSYS_STORAGE_URL"
SIGNING_KEYS_ENV = "RECSYS_SIGNING_KEYS"
SIGNING_KEYS_FILE_ENV = "RECSYS_SIGNING_KEYS_FILE"


def default_storage_url() -> str:
    """file://<cwd>/.recsys: the repo's folder when run from the checkout (make, CLI)."""
    return (Path.cwd() / ".recsys").resolve().as_uri()


def storage_url_from_env() -> str:
    return os.environ.get(STORAGE_URL_ENV) or default_storage_url()


def signing_keys_from_env(required: bool = True) -> SigningKeys | None:
    """Keys from RECSYS_SIGNING_KEYS, or the file named by RECSYS_SIGNING_KEYS_FILE."""
    spec = os.environ.get(SIGNING_KEYS_ENV, "").strip()
    if not spec and (path := os.environ.get(SIGNING_KEYS_FILE_ENV)):
        try:
            spec = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{SIGNING_KEYS_FILE_ENV}={path}: cannot read ({exc})") from None
    if not spec:
        if required:
            raise ConfigError(
                f"no signing keys: set {SIGNING_KEYS_ENV}='kid:hex64' "
                f"or {SIGNING_KEYS_FILE_ENV}=/path/to/file (make demo creates a dev key)"
            )
        return None
    return parse_signing_keys(spec)
