"""Holds beside the pointer: set, read and release a scope's hold record, each with an audit record.

While a scope is held, publishing writes its history record and leaves the pointer alone
(registry.publish asks read_hold_state right before its swap). Setting or releasing a hold never
moves the pointer itself: rollback and roll-forward do that (stages.rollback, stages.holds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ArtifactError, NotFoundError
from recsys_algo.contracts.hold import (
    HOLD_RECORD,
    Hold,
    HoldState,
    decode_hold,
    encode_hold,
    sign_hold,
)
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.pointer import scopes_with
from recsys_algo.store.storage import Storage


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_hold_state(storage: Storage, keys: SigningKeys, tenant: str, surface: str) -> HoldState:
    """The scope's hold: none, a verified record, or a broken one (counted as held)."""
    key = layout.hold_key(tenant, surface)
    try:
        raw = storage.read_bytes(key)
    except NotFoundError:
        return HoldState()
    where = storage.uri_for(key)
    try:
        hold = decode_hold(raw, keys, where)
    except ArtifactError as exc:
        return HoldState(error=str(exc))
    if (hold.tenant, hold.surface) != (tenant, surface):
        wrong = f"{hold.tenant}/{hold.surface}"
        return HoldState(error=f"{where}: holds {wrong}, not {tenant}/{surface}")
    return HoldState(hold=hold)


def write_hold(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    *,
    version: str | None,
    reason: str,
    by: str,
    origin: str,
    now: dt.datetime | None = None,
    audit: bool = True,
) -> Hold:
    """Set (or replace) the scope's hold record, then write an audit record of it."""
    moment = now or dt.datetime.now(dt.UTC)
    hold = sign_hold(
        Hold(
            record=HOLD_RECORD,
            tenant=tenant,
            surface=surface,
            version=version,
            reason=reason,
            by=by,
            at=rfc3339(moment),
            origin=origin,
        ),
        keys,
    )
    storage.write_bytes(layout.hold_key(tenant, surface), encode_hold(hold))
    if audit:
        write_audit(storage, tenant, surface, "hold", hold.view(), moment)
    return hold


def restore_hold(storage: Storage, tenant: str, surface: str, raw: bytes | None) -> None:
    """Put back the hold key's earlier bytes (None: no record), undoing a write_hold."""
    key = layout.hold_key(tenant, surface)
    if raw is None:
        if storage.exists(key):
            storage.delete(key)
    else:
        storage.write_bytes(key, raw)


def read_hold_bytes(storage: Storage, tenant: str, surface: str) -> bytes | None:
    try:
        return storage.read_bytes(layout.hold_key(tenant, surface))
    except NotFoundError:
        return None


def remove_hold(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    *,
    reason: str,
    by: str,
    origin: str,
    now: dt.datetime | None = None,
) -> HoldState:
    """Delete the scope's hold record (a broken one too) and audit it; returns what it held."""
    state = read_hold_state(storage, keys, tenant, surface)
    if not state.held:
        raise NotFoundError(f"{tenant}/{surface} is not held: nothing to release")
    moment = now or dt.datetime.now(dt.UTC)
    storage.delete(layout.hold_key(tenant, surface))
    record = {"released": state.view(), "reason": reason, "by": by, "origin": origin}
    write_audit(storage, tenant, surface, "release", record, moment)
    return state


def write_audit(
    storage: Storage,
    tenant: str,
    surface: str,
    action: str,
    fields: dict[str, Any],
    moment: dt.datetime,
) -> None:
    """registry/{t}/{s}/audit/{stamp}-{action}.json, never overwritten."""
    record = {"action": action, "tenant": tenant, "surface": surface, "at": rfc3339(moment)}
    stamp = moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    storage.write_new(
        layout.audit_key(tenant, surface, stamp, action),
        msgspec.json.encode({**fields, **record}, order="sorted"),
    )


def held_scopes(storage: Storage) -> list[tuple[str, str]]:
    """(tenant, surface) pairs with a hold record, whether or not anything was published."""
    return scopes_with(storage, layout.HOLD_FILE)
