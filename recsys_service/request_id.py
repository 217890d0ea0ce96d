"""Request ids: honour a well-formed incoming X-Request-ID, else make one.

recsys_service.observed_app fixes the id first and echoes it on every response.
"""

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


_POOL_IDS = 256
_pool: list[str] = []
# A forked child must not hand out its parent's remaining ids.
os.register_at_fork(after_in_child=_pool.clear)


def new_request_id() -> str:
    # 32 random hex digits, as uuid4().hex was. Random, not a counter: exposure ids derive from
    # it, and nobody can claim a future id. One urandom call serves 256 ids (one syscall per
    # request was ~2 % of the recommend route's CPU); list.pop is atomic under the GIL.
    try:
        return _pool.pop()
    except IndexError:
        block = os.urandom(16 * _POOL_IDS).hex()
        _pool.extend(block[i : i + 32] for i in range(32, len(block), 32))
        return block[:32]


def request_id_for(scope: Scope | Any) -> str:
    """The request's id, fixed on first use (ObservedApp's, before anything else)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if not isinstance(rid, str):
        rid = _incoming(scope) or new_request_id()
        state[_STATE_KEY] = rid
    return rid
