"""What is in the landing zone: scope folders, and one fingerprint per (scope, day) partition."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass, field

from recsys_algo.contracts.errors import ConfigError, InvalidName
from recsys_algo.contracts.layout import check_landing_name
from recsys_algo.contracts.names import parse_day, scope_key
from recsys_algo.store.storage import Storage

RAW_ROOT = "raw"
CURSOR_VERSION = "v1:"


@dataclass
class LandingScan:
    """raw/{tenant}/{surface}/{day}/{name}.jsonl keys grouped by partition, and what was skipped."""

    files: dict[tuple[str, dt.date], list[str]] = field(default_factory=dict)
    scopes: set[tuple[str, str]] = field(default_factory=set)
    bad_folders: dict[str, str] = field(default_factory=dict)  # raw/{t}/{s}/ -> why skipped
    bad_files: dict[str, str] = field(default_factory=dict)  # key -> why skipped


def scan_landing(storage: Storage) -> LandingScan:
    """One listing of raw/; names are validated, so nothing invalid reaches a partition key."""
    scan = LandingScan()
    grouped: dict[tuple[str, dt.date], list[str]] = defaultdict(list)
    for key in storage.list(RAW_ROOT):
        parts = key.split("/")
        if len(parts) < 4:
            continue  # a stray file above the scope folders is no landing data
        tenant, surface = parts[1], parts[2]
        try:
            scope = scope_key(tenant, surface)
        except InvalidName as exc:
            scan.bad_folders.setdefault(f"{RAW_ROOT}/{tenant}/{surface}/", str(exc))
            continue
        scan.scopes.add((tenant, surface))
        if len(parts) != 5:
            scan.bad_files[key] = "expected raw/{tenant}/{surface}/{YYYY-MM-DD}/{name}.jsonl"
            continue
        try:
            day = parse_day(parts[3])
            check_landing_name(parts[4])
        except ConfigError as exc:
            scan.bad_files[key] = str(exc)
            continue
        grouped[(scope, day)].append(key)
    scan.files = {k: sorted(v) for k, v in sorted(grouped.items())}
    return scan


def _digest(items: list[list[object]]) -> str:
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()[:16]


def fingerprint(storage: Storage, keys: list[str], with_content: bool) -> str:
    """'<names>:<content>' digests; content (size + ETag/sha256 token) only for recent days."""
    names = _digest([[k] for k in keys])
    if not with_content:
        return f"{names}:"
    stats = [storage.stat(k) for k in keys]
    return f"{names}:{_digest([[s.key, s.size, s.token] for s in stats])}"


def changed(before: str | None, now: str) -> bool:
    """Content digests are compared when both sides have one, else the names digests."""
    if before is None:
        return True
    old_names, _, old_content = before.partition(":")
    new_names, _, new_content = now.partition(":")
    if old_content and new_content:
        return old_content != new_content or old_names != new_names
    return old_names != new_names


Fingerprints = dict[str, dict[str, str]]  # scope -> day -> fingerprint


@dataclass
class LandingCursor:
    seen: Fingerprints
    reported: str = ""  # digest of the bad file keys already logged (log each set once)


def problems_digest(problems: dict[str, str]) -> str:
    return _digest([[k] for k in sorted(problems)]) if problems else ""


def encode_cursor(cursor: LandingCursor) -> str:
    """Compact: zlib-compressed JSON, about 40 bytes per partition before compression."""
    body = {"seen": cursor.seen, "reported": cursor.reported}
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return CURSOR_VERSION + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode()


def decode_cursor(cursor: str | None) -> LandingCursor | None:
    """None when there is no cursor yet; anything unreadable is an error saying what to do."""
    if not cursor:
        return None
    where = f"landing sensor cursor {cursor[:20]!r}…"
    if not cursor.startswith(CURSOR_VERSION):
        raise ConfigError(f"{where} is not a {CURSOR_VERSION} cursor; reset the cursor in the UI")
    try:
        body = json.loads(zlib.decompress(base64.urlsafe_b64decode(cursor[len(CURSOR_VERSION) :])))
        seen = {
            str(scope): {str(day): str(fp) for day, fp in days.items()}
            for scope, days in body["seen"].items()
        }
        return LandingCursor(seen, str(body["reported"]))
    except (ValueError, TypeError, KeyError, AttributeError, zlib.error) as exc:
        raise ConfigError(f"{where} is corrupt ({exc!r}); reset the cursor in the UI") from None
