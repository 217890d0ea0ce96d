"""What keeps serving a scope, for the messages of gates that hold a day back."""

from __future__ import annotations

import msgspec

from recsys_algo.policy.gates import keeps_serving
from recsys_algo.store.pointer import read_pointer
from recsys_algo.store.storage import Storage


class _Head(msgspec.Struct):
    manifest_version: str
    as_of: str


def serving_note(storage: Storage, tenant: str, surface: str) -> str:
    """`V (as_of D) keeps serving` from the pointer as stored (a message, not a verification:
    the service verifies before serving), or that nothing is served yet."""
    scope = f"{tenant}/{surface}"
    found = read_pointer(storage, tenant, surface)
    if found is None:
        return keeps_serving(scope, None, None)
    try:
        head = msgspec.json.decode(found[0], type=_Head)
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return f"the current pointer of {scope} is unreadable; the service keeps what it loaded"
    return keeps_serving(scope, head.manifest_version, head.as_of)
