"""What the landing sensor remembers between ticks: one fingerprint per (scope, day), compact."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass

from recsys_algo.contracts.errors import ConfigError

CURSOR_VERSION = "v1:"

Fingerprints = dict[str, dict[str, str]]  # scope -> day -> fingerprint


@dataclass
class LandingCursor:
    seen: Fingerprints
    reported: str = ""  # digest of the bad file keys already logged (log each set once)


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
