"""What pipelines, CLI and service all read: the storage root, the signing keys, the signals DB."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from recsys_algo.config.env import EnvSettings
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.signing import SigningKeys, parse_signing_keys

STORAGE_URL_ENV = "RECSYS_STORAGE_URL"
SIGNING_KEYS_ENV = "RECSYS_SIGNING_KEYS"
SIGNING_KEYS_FILE_ENV = "RECSYS_SIGNING_KEYS_FILE"
SIGNALS_DSN_ENV = "RECSYS_SIGNALS_DSN"
MAX_SURFACES_ENV = "RECSYS_MAX_SURFACES"
# Surfaces one tenant may have: landing folders the service creates and scopes the landing
# sensor registers. Each costs a daily run and service memory, so one key must not make 1,500.
DEFAULT_MAX_SURFACES = 100


def default_storage_url() -> str:
    """file://<cwd>/.recsys: the repo's folder when run from the checkout (make, CLI)."""
    return (Path.cwd() / ".recsys").resolve().as_uri()


class SharedEnv(EnvSettings):
    """The variables every process reads; unset ones take the defaults below."""

    storage_url: str = Field(default_factory=default_storage_url, validation_alias=STORAGE_URL_ENV)
    signing_keys_spec: str = Field(default="", validation_alias=SIGNING_KEYS_ENV, repr=False)
    signing_keys_file: str = Field(default="", validation_alias=SIGNING_KEYS_FILE_ENV)
    # Empty: no signals database (publish writes none, the service serves the object store).
    signals_dsn: str = Field(default="", validation_alias=SIGNALS_DSN_ENV, repr=False)
    max_surfaces: int = Field(
        default=DEFAULT_MAX_SURFACES, ge=1, le=10_000, validation_alias=MAX_SURFACES_ENV
    )

    def signing_keys(self) -> SigningKeys:
        """The keys, or ConfigError saying how to give them."""
        return require_signing_keys(self.signing_keys_spec, self.signing_keys_file)

    def optional_signing_keys(self) -> SigningKeys | None:
        """The keys, or None when neither variable is set (the service starts without them)."""
        return read_signing_keys(self.signing_keys_spec, self.signing_keys_file)


def read_signing_keys(spec: str, path: str) -> SigningKeys | None:
    """Keys from spec ('kid:hex64,...'), else from the file at path; None when both are empty."""
    spec = spec.strip()
    if not spec and (path := path.strip()):
        try:
            spec = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{SIGNING_KEYS_FILE_ENV}={path}: cannot read ({exc})") from None
    return parse_signing_keys(spec) if spec else None


def require_signing_keys(spec: str, path: str) -> SigningKeys:
    """read_signing_keys, with None turned into a ConfigError naming both variables."""
    keys = read_signing_keys(spec, path)
    if keys is None:
        raise ConfigError(
            f"no signing keys: set {SIGNING_KEYS_ENV}='kid:hex64' "
            f"or {SIGNING_KEYS_FILE_ENV}=/path/to/file (make demo creates a dev key)"
        )
    return keys
