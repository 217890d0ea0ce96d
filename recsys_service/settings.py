"""Service settings, read from the environment once by Settings.from_env (tests pass values)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from recsys_algo.config import signing_keys_from_env, storage_url_from_env
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import is_valid_name, parse_scope_key
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.pg import SIGNALS_DSN_ENV, describe_dsn
from recsys_service.event_log import EventLogSettings
from recsys_service.ratelimit import (
    RATE_LIMIT_ENV,
    RATE_LIMIT_TENANTS_ENV,
    RateLimit,
    parse_rate_limit,
    parse_tenant_limits,
)

API_KEYS_ENV = "RECSYS_API_KEYS"
WATCH_INTERVAL_ENV = "RECSYS_WATCH_INTERVAL"
SCOPES_ENV = "RECSYS_SCOPES"
METRICS_ENV = "RECSYS_METRICS"
SERVING_SOURCE_ENV = "RECSYS_SERVING_SOURCE"
SERVING_SOURCES = ("storage", "postgres")
LOADER_ENV = "RECSYS_LOADER"
PREPARED_DIR_ENV = "RECSYS_PREPARED_DIR"
LOADER_NICE_ENV = "RECSYS_LOADER_NICE"
DEFAULT_LOADER_NICE = 0
Loading = Literal["process", "thread"]
LOADERS: tuple[Loading, ...] = ("process", "thread")

ADMIN_TENANT = "*"
OPEN_MODE_TENANT = "demo"
DEFAULT_WATCH_INTERVAL = 5.0
WATCH_INTERVAL_RANGE = (1.0, 30.0)
DEFAULT_MAX_BODY_BYTES = 64 * 1024

MetricsAccess = Literal["public", "admin", "off"]
METRICS_ACCESS: tuple[MetricsAccess, ...] = ("public", "admin", "off")

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


def parse_watch_interval(value: str) -> float:
    low, high = WATCH_INTERVAL_RANGE
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not low <= seconds <= high:
        raise ConfigError(
            f"{WATCH_INTERVAL_ENV}={value[:40]!r} is invalid: seconds in {low:g}..{high:g}"
        )
    return seconds


def parse_scopes(spec: str) -> tuple[tuple[str, str], ...]:
    """'tenant.surface,...' -> ((tenant, surface), ...), in order, without repeats."""
    scopes = [parse_scope_key(e.strip()) for e in spec.split(",") if e.strip()]
    if not scopes:
        raise ConfigError(f"{SCOPES_ENV} is set but names no scope: use 'tenant.surface,...'")
    return tuple(dict.fromkeys(scopes))


def parse_metrics_access(value: str) -> MetricsAccess:
    for access in METRICS_ACCESS:
        if value.strip().lower() == access:
            return access
    raise ConfigError(f"{METRICS_ENV}={value[:20]!r} is invalid: use public, admin or off")


@dataclass(frozen=True, slots=True)
class Settings:
    storage_url: str
    signing_keys: SigningKeys | None
    api_keys: tuple[ApiKey, ...] = ()
    watch_interval: float = DEFAULT_WATCH_INTERVAL
    # None: discover scopes from storage at every poll.
    scopes: tuple[tuple[str, str], ...] | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # "postgres": serve the signals database at signals_dsn instead of the object store.
    serving_source: str = "storage"
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
        interval = os.environ.get(WATCH_INTERVAL_ENV, "").strip()
        scopes = os.environ.get(SCOPES_ENV, "").strip()
        rate_limit = os.environ.get(RATE_LIMIT_ENV, "").strip()
        return cls(
            storage_url=storage_url_from_env(),
            signing_keys=signing_keys_from_env(required=False),
            api_keys=parse_api_keys(os.environ.get(API_KEYS_ENV, "")),
            watch_interval=parse_watch_interval(interval) if interval else DEFAULT_WATCH_INTERVAL,
            scopes=parse_scopes(scopes) if scopes else None,
            rate_limit=parse_rate_limit(rate_limit) if rate_limit else None,
            rate_limit_tenants=parse_tenant_limits(os.environ.get(RATE_LIMIT_TENANTS_ENV, "")),
            metrics_access=parse_metrics_access(
                os.environ.get(METRICS_ENV, "").strip() or "public"
            ),
            serving_source=os.environ.get(SERVING_SOURCE_ENV, "").strip() or "storage",
            signals_dsn=os.environ.get(SIGNALS_DSN_ENV, "").strip(),
            event_log=EventLogSettings.from_env(),
            loader=os.environ.get(LOADER_ENV, "").strip() or "process",  # type: ignore[arg-type]
            prepared_dir=_prepared_dir(os.environ.get(PREPARED_DIR_ENV, "").strip()),
            loader_nice=_loader_nice(os.environ.get(LOADER_NICE_ENV, "").strip()),
        )


def _loader_nice(value: str) -> int:
    if not value:
        return DEFAULT_LOADER_NICE
    if not value.isdigit():
        raise ConfigError(f"{LOADER_NICE_ENV}={value[:20]!r} is invalid: use 0..19")
    return int(value)


def _prepared_dir(value: str) -> Path | None:
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        raise ConfigError(f"{PREPARED_DIR_ENV}={value[:80]!r} must be an absolute path")
    return path
