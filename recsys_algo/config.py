"""Environment-driven settings shared by pipelines, CLI and service (read at call time)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.signing import SigningKeys, parse_signing_keys

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


# --- S3 (used when RECSYS_STORAGE_URL is s3://bucket/prefix) ----------------------------------

S3_ENDPOINT_ENV = "RECSYS_S3_ENDPOINT"
S3_ACCESS_KEY_ENV = "RECSYS_S3_ACCESS_KEY"
S3_SECRET_KEY_ENV = "RECSYS_S3_SECRET_KEY"  # noqa: S105 (a variable name, not a secret)
S3_REGION_ENV = "RECSYS_S3_REGION"
S3_SECURE_ENV = "RECSYS_S3_SECURE"
DEFAULT_S3_ENDPOINT = "s3.amazonaws.com"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_HOST_PORT_RE = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$")
_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Where and how to reach the object store; the secret never appears in repr or errors."""

    endpoint: str  # host[:port], no scheme
    access_key: str
    secret_key: str = field(repr=False)
    region: str | None
    secure: bool


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}={value[:40]!r} is invalid: use true or false")


def _parse_endpoint(value: str) -> tuple[str, bool | None]:
    """host[:port], or http(s)://host[:port] whose scheme also says whether to use TLS."""
    raw = value.strip()
    implied: bool | None = None
    for scheme, secure in (("https://", True), ("http://", False)):
        if raw.lower().startswith(scheme):
            raw, implied = raw[len(scheme) :].rstrip("/"), secure
    # An endpoint with '@' may hold credentials: never echo it.
    shown = "(value hidden: it contains '@')" if "@" in value else repr(value[:120])
    match = _HOST_PORT_RE.match(raw)
    if match is None:
        raise ConfigError(
            f"{S3_ENDPOINT_ENV}={shown} is invalid: use host[:port] or "
            "http(s)://host[:port] (no path, no credentials)"
        )
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise ConfigError(f"{S3_ENDPOINT_ENV}={shown} is invalid: port {port}")
    return raw, implied


def s3_settings_from_env(environ: Mapping[str, str] | None = None) -> S3Settings:
    """RECSYS_S3_* settings; ConfigError names the variable that is wrong (never its secret)."""
    env = os.environ if environ is None else environ
    endpoint, implied = _parse_endpoint(env.get(S3_ENDPOINT_ENV) or DEFAULT_S3_ENDPOINT)
    access_key = env.get(S3_ACCESS_KEY_ENV, "").strip()
    secret_key = env.get(S3_SECRET_KEY_ENV, "").strip()
    for name, present, other in (
        (S3_ACCESS_KEY_ENV, access_key, secret_key),
        (S3_SECRET_KEY_ENV, secret_key, access_key),
    ):
        if not present:
            state = "is set" if other else "is not set either"
            partner = S3_SECRET_KEY_ENV if name == S3_ACCESS_KEY_ENV else S3_ACCESS_KEY_ENV
            raise ConfigError(f"{name} is not set ({partner} {state}): s3:// storage needs both")
    region = env.get(S3_REGION_ENV, "").strip() or None
    if region is not None and not _REGION_RE.match(region):
        raise ConfigError(f"{S3_REGION_ENV}={region[:40]!r} is invalid: e.g. us-east-1")
    secure_raw = env.get(S3_SECURE_ENV, "").strip()
    secure = _parse_bool(S3_SECURE_ENV, secure_raw) if secure_raw else None
    if secure is not None and implied is not None and secure != implied:
        raise ConfigError(
            f"{S3_SECURE_ENV}={secure_raw} contradicts the "
            f"{'https' if implied else 'http'}:// in {S3_ENDPOINT_ENV}: drop one of them"
        )
    resolved = secure if secure is not None else (implied if implied is not None else True)
    return S3Settings(endpoint, access_key, secret_key, region, resolved)
