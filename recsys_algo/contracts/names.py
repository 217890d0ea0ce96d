"""Validation of tenant, surface and date names that end up in storage keys."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from recsys_algo.contracts.errors import ConfigError, InvalidName

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_NAME_RE = re.compile(NAME_PATTERN)
# ASCII digits only: fromisoformat alone also takes ISO week dates such as 2026-W47-5.
_DAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# Scope keys join tenant and surface with a character names cannot contain.
SCOPE_SEPARATOR = "."


def check_name(kind: str, value: object) -> str:
    """Return value if it is a valid tenant/surface name, else raise InvalidName."""
    if not isinstance(value, str) or _NAME_RE.fullmatch(value) is None:
        shown = repr(value)[:80]
        raise InvalidName(f"{kind} {shown} is invalid: names must match {NAME_PATTERN}")
    return value


def is_valid_name(value: object) -> bool:
    return isinstance(value, str) and _NAME_RE.fullmatch(value) is not None


def scope_key(tenant: str, surface: str) -> str:
    return f"{check_name('tenant', tenant)}{SCOPE_SEPARATOR}{check_name('surface', surface)}"


def parse_scope_key(key: str) -> tuple[str, str]:
    tenant, sep, surface = key.partition(SCOPE_SEPARATOR)
    if not sep:
        raise InvalidName(f"scope {key!r} is invalid: expected 'tenant{SCOPE_SEPARATOR}surface'")
    return check_name("tenant", tenant), check_name("surface", surface)


def parse_day(value: str) -> dt.date:
    """Parse a YYYY-MM-DD partition date (nothing else fromisoformat would take)."""
    if isinstance(value, str) and _DAY_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"date {repr(value)[:40]} is invalid: expected YYYY-MM-DD")


@dataclass(frozen=True)
class Partition:
    tenant: str
    surface: str
    day: dt.date

    @property
    def label(self) -> str:
        return f"{self.tenant}/{self.surface} {self.day.isoformat()}"
