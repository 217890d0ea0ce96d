"""Service settings: the values the app is built from (Settings), their variables (ServiceEnv)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, model_validator

from recsys_algo.config import SIGNALS_DSN_ENV, SharedEnv
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import is_valid_name, parse_scope_key
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.pg import describe_dsn
from recsys_service.event_log_settings import EventLogSettings
from recsys_service.http_limits import DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADERS, HeadLimits
from recsys_service.logs import LOG_LEVEL_ENV, parse_log_level
from recsys_service.ratelimit import (
    RATE_LIMIT_ENV,
    RATE_LIMIT_TENANTS_ENV,
    RateLimit,
    parse_rate_limit,
    parse_tenant_limits,
)

API_KEYS_ENV = "RECSYS_API_KEYS"
WATCH_INTERVAL_ENV = "RECSYS_WATCH_INTERVAL"
REVERIFY_INTERVAL_ENV = "RECSYS_REVERIFY_INTERVAL"
SCOPES_ENV = "RECSYS_SCOPES"
METRICS_ENV = "RECSYS_METRICS"
SERVING_SOURCE_ENV = "RECSYS_SERVING_SOURCE"
LOADER_ENV = "RECSYS_LOADER"
PREPARED_DIR_ENV = "RECSYS_PREPARED_DIR"
LOADER_NICE_ENV = "RECSYS_LOADER_NICE"
MAX_HEADER_BYTES_ENV = "RECSYS_MAX_HEADER_BYTES"
MAX_HEADERS_ENV = "RECSYS_MAX_HEADERS"
LOADER_SPARE_ENV = "RECSYS_LOADER_SPARE"
DEFAULT_LOADER_NICE = 0
ServingSource = Literal["storage", "postgres"]
SERVING_SOURCES: tuple[ServingSource, ...] = get_args(ServingSource)
Loading = Literal["process", "thread"]
LOADERS: tuple[Loading, ...] = get_args(Loading)

ADMIN_TENANT = "*"
OPEN_MODE_TENANT = "demo"
DEFAULT_WATCH_INTERVAL = 5.0
DEFAULT_REVERIFY_INTERVAL = 3600.0  # seconds between full digest checks of served blobs
DEFAULT_MAX_BODY_BYTES = 64 * 1024

MetricsAccess = Literal["public", "admin", "off"]

_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SHA256_HEX_RE = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One configured key: who it is, which tenant it may read ('*': any), sha256 of the key."""

    name: str
    tenant: str
    sha256: bytes = field(repr=False)

    @property
    def is_admin(self) -> bool:
        return self.tenant == ADMIN_TENANT


def parse_api_keys(spec: str) -> tuple[ApiKey, ...]:
    """Parse 'name:tenant:sha256hex,...'; errors name the entry by position, never its content."""
    keys: list[ApiKey] = []
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    if not entries:
        raise _no_key()
    for i, entry in enumerate(entries, start=1):
        parts = entry.split(":")
        if len(parts) != 3:
            raise ConfigError(
                f"{API_KEYS_ENV} entry #{i} is malformed: "
                "expected 'name:tenant:<sha256 hex of key>'"
            )
        name, tenant, digest = parts
        if not _KEY_NAME_RE.fullmatch(name):
            raise ConfigError(
                f"{API_KEYS_ENV} entry #{i}: name must be 1..64 of letters, digits, '_', '.', '-'"
            )
        if tenant != ADMIN_TENANT and not is_valid_name(tenant):
            raise ConfigError(
                f"{API_KEYS_ENV} entry #{i} ({name}): tenant must be '*' or match "
                "^[a-z0-9][a-z0-9_-]{0,62}$"
            )
        if not _SHA256_HEX_RE.fullmatch(digest):
            raise ConfigError(
                f"{API_KEYS_ENV} entry #{i} ({name}): third field must be the 64-hex sha256 "
                "of the key (not the key itself)"
            )
        keys.append(ApiKey(name=name, tenant=tenant, sha256=bytes.fromhex(digest)))
    _check_unique(keys)
    return tuple(keys)


def _no_key() -> ConfigError:
    # Open mode is chosen by leaving the variable unset, never by a value that parses to nothing
    # (",,,", blanks, an empty ${VAR} in a deployment file): that is a mistake, not a choice.
    return ConfigError(
        f"{API_KEYS_ENV} is set but names no key: give 'name:tenant:<sha256 hex of key>,...', "
        "or unset it for open mode (tenant 'demo' on a loopback address only)"
    )


def _check_unique(keys: list[ApiKey]) -> None:
    names: set[str] = set()
    digests: set[bytes] = set()
    for key in keys:
        if key.name in names:
            raise ConfigError(f"{API_KEYS_ENV}: key name {key.name!r} appears twice")
        if key.sha256 in digests:
            raise ConfigError(f"{API_KEYS_ENV}: key {key.name!r} repeats another entry's hash")
        names.add(key.name)
        digests.add(key.sha256)


def parse_scopes(spec: str) -> tuple[tuple[str, str], ...]:
    """'tenant.surface,...' -> ((tenant, surface), ...), in order, without repeats."""
    scopes = [parse_scope_key(e.strip()) for e in spec.split(",") if e.strip()]
    if not scopes:
        raise ConfigError(f"{SCOPES_ENV} is set but names no scope: use 'tenant.surface,...'")
    return tuple(dict.fromkeys(scopes))


@dataclass(frozen=True, slots=True)
class Settings:
    storage_url: str
    signing_keys: SigningKeys | None
    api_keys: tuple[ApiKey, ...] = ()
    watch_interval: float = DEFAULT_WATCH_INTERVAL
    reverify_interval: float = DEFAULT_REVERIFY_INTERVAL  # 0: never (serving_state.reverify)
    # None: discover scopes from storage at every poll.
    scopes: tuple[tuple[str, str], ...] | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # "postgres": serve the signals database at signals_dsn instead of the object store.
    serving_source: ServingSource = "storage"
    signals_dsn: str = field(default="", repr=False)
    event_log: EventLogSettings = field(default_factory=EventLogSettings)
    # None: no default limit (per-tenant entries still apply).
    rate_limit: RateLimit | None = None
    rate_limit_tenants: dict[str, RateLimit] = field(default_factory=dict)
    metrics_access: MetricsAccess = "public"
    # "process": verify and build new versions in a child, map its file (recsys_service.loader);
    # "thread": in the polling thread of each serving process.
    loader: Loading = "process"
    # None: recsys_service.loader.default_directory() (private, per user, under TMPDIR).
    prepared_dir: Path | None = None
    # The loader child's niceness: 0 keeps swaps within seconds with the cores saturated;
    # 10 lets requests win and swaps wait for load to ease (docs/benchmarks.md).
    loader_nice: int = DEFAULT_LOADER_NICE
    # Keep one loader child started ahead with its imports done (recsys_service.loader_spare):
    # swaps land sooner under load, for an idle process per serving process.
    loader_spare: bool = True
    log_level: int = logging.INFO
    # Request heads over these are refused with 431 by `python -m recsys_service`.
    head_limits: HeadLimits = field(default_factory=HeadLimits)

    def __post_init__(self) -> None:
        if self.metrics_access == "admin" and not any(k.is_admin for k in self.api_keys):
            raise ConfigError(
                f"{METRICS_ENV}=admin needs an admin key (tenant '*') in {API_KEYS_ENV}: "
                "otherwise nobody could scrape /metrics"
            )
        if not 0 <= self.loader_nice <= 19:
            raise ConfigError(f"{LOADER_NICE_ENV}={self.loader_nice} is invalid: use 0..19")
        if self.loader not in LOADERS:
            raise ConfigError(
                f"{LOADER_ENV}={str(self.loader)[:40]!r} is invalid: one of {', '.join(LOADERS)}"
            )
        if self.serving_source not in SERVING_SOURCES:
            raise ConfigError(
                f"{SERVING_SOURCE_ENV}={self.serving_source[:40]!r} is invalid: "
                f"one of {', '.join(SERVING_SOURCES)}"
            )
        if self.serving_source == "postgres":
            if not self.signals_dsn:
                raise ConfigError(f"{SERVING_SOURCE_ENV}=postgres needs {SIGNALS_DSN_ENV}")
            describe_dsn(self.signals_dsn)  # a malformed DSN fails at start, not at each poll

    @property
    def open_mode(self) -> bool:
        """No API keys: anyone may read tenant 'demo', and only on a loopback address."""
        return not self.api_keys

    @classmethod
    def from_env(cls) -> Settings:
        """The settings in the process environment; ConfigError naming what is wrong."""
        env = ServiceEnv.load()
        return cls(
            storage_url=env.storage_url,
            signing_keys=env.optional_signing_keys(),
            api_keys=env.api_keys,
            watch_interval=env.watch_interval,
            reverify_interval=env.reverify_interval,
            scopes=env.scopes,
            serving_source=env.serving_source,
            signals_dsn=env.signals_dsn,
            event_log=EventLogSettings.from_env(),
            rate_limit=env.rate_limit,
            rate_limit_tenants=env.rate_limit_tenants,
            metrics_access=env.metrics_access,
            loader=env.loader,
            prepared_dir=env.prepared_dir,
            loader_nice=env.loader_nice,
            loader_spare=env.loader_spare,
            log_level=env.log_level,
            head_limits=HeadLimits(env.max_header_bytes, env.max_headers),
        )


def _absolute(path: Path | None) -> Path | None:
    if path is not None and not path.is_absolute():
        raise ValueError("use an absolute path")
    return path


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class ServiceEnv(SharedEnv):
    """The service's variables on top of the shared ones; the parse functions above carry the
    syntax of the structured ones and raise ConfigError naming the entry."""

    @model_validator(mode="before")
    @classmethod
    def _api_keys_set_blank(cls, data: Any) -> Any:
        """Runs before the shared rule that a blank variable is unset: for the API keys a blank
        value is an error, since unset means open mode."""
        value = data.get(API_KEYS_ENV) if isinstance(data, dict) else None
        if isinstance(value, str) and not value.strip():
            raise _no_key()
        return data

    api_keys: Annotated[tuple[ApiKey, ...], PlainValidator(parse_api_keys)] = Field(
        default=(), validation_alias=API_KEYS_ENV, repr=False
    )
    watch_interval: float = Field(
        default=DEFAULT_WATCH_INTERVAL,
        ge=1.0,
        le=30.0,
        allow_inf_nan=False,
        validation_alias=WATCH_INTERVAL_ENV,
    )
    reverify_interval: float = Field(
        default=DEFAULT_REVERIFY_INTERVAL,
        ge=0.0,
        le=7 * 86_400.0,
        allow_inf_nan=False,
        validation_alias=REVERIFY_INTERVAL_ENV,
    )
    scopes: Annotated[tuple[tuple[str, str], ...] | None, PlainValidator(parse_scopes)] = Field(
        default=None, validation_alias=SCOPES_ENV
    )
    serving_source: ServingSource = Field(default="storage", validation_alias=SERVING_SOURCE_ENV)
    rate_limit: Annotated[RateLimit | None, PlainValidator(parse_rate_limit)] = Field(
        default=None, validation_alias=RATE_LIMIT_ENV
    )
    rate_limit_tenants: Annotated[dict[str, RateLimit], PlainValidator(parse_tenant_limits)] = (
        Field(default_factory=dict, validation_alias=RATE_LIMIT_TENANTS_ENV)
    )
    metrics_access: Annotated[MetricsAccess, BeforeValidator(_lower)] = Field(
        default="public", validation_alias=METRICS_ENV
    )
    loader: Loading = Field(default="process", validation_alias=LOADER_ENV)
    prepared_dir: Annotated[Path | None, AfterValidator(_absolute)] = Field(
        default=None, validation_alias=PREPARED_DIR_ENV
    )
    loader_nice: int = Field(
        default=DEFAULT_LOADER_NICE, ge=0, le=19, validation_alias=LOADER_NICE_ENV
    )
    loader_spare: bool = Field(default=True, validation_alias=LOADER_SPARE_ENV)
    log_level: Annotated[int, PlainValidator(parse_log_level)] = Field(
        default=logging.INFO, validation_alias=LOG_LEVEL_ENV
    )
    max_header_bytes: int = Field(
        default=DEFAULT_MAX_HEADER_BYTES,
        ge=1024,
        le=1024 * 1024,
        validation_alias=MAX_HEADER_BYTES_ENV,
    )
    max_headers: int = Field(
        default=DEFAULT_MAX_HEADERS, ge=10, le=1000, validation_alias=MAX_HEADERS_ENV
    )
