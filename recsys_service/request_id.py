"""Request ids: honour a well-formed incoming X-Request-ID, else make one (the observe wrapper
echoes it on every response)."""

from __future__ import annotations

import os
import re
from typing import Any

from litestar.types import Scope

HEADER = "X-Request-ID"
_STATE_KEY = "request_id"
_VALID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_RE.fullmatch(text) else None
    return None


def new_request_id() -> str:
    # 32 random hex digits, as uuid4().hex was, at a fifth of the cost (0.3 us, not 1.6 us).
    # Random, not a counter: exposure ids derive from it, and nobody can claim a future id.
    return os.urandom(16).hex()


def request_id_for(scope: Scope | Any) -> str:
    """The request's id, fixed on first use (the observe wrapper's, before anything else)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if not isinstance(rid, str):
        rid = _incoming(scope) or new_request_id()
        state[_STATE_KEY] = rid
    return rid
