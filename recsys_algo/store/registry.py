"""Manifest registry: publish (blobs, history, then pointer), verify, list history.

Rolling back (a pointer swap to a verified history record) is store.rollback."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
import pyarrow as pa

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ArtifactError, NotFoundError
from recsys_algo.contracts.hold import HELD_MESSAGE, HoldState
from recsys_algo.contracts.manifest import (
    MANIFEST_SCHEMA_VERSION,
    ArtifactRef,
    Lineage,
    Manifest,
    Window,
    encode,
    make_version,
    may_replace_serving,
    sign,
)
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.kinds.registry import validate_artifact

# History moved to its own module; registry.history and friends stay where callers find them.
from recsys_algo.store.history import HistoryEntry as HistoryEntry
from recsys_algo.store.history import history as history
from recsys_algo.store.holds import read_hold_state
from recsys_algo.store.pointer import Current, read_current, read_pointer
from recsys_algo.store.storage import AlreadyExists, Storage


@dataclass(frozen=True)
class PublishOutcome:
    manifest: Manifest
    swapped: bool
    message: str
    hold: HoldState = field(default_factory=HoldState)  # held at the swap: history only


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _verified(storage: Storage, manifest: Manifest) -> Iterator[tuple[str, bytes, pa.Table]]:
    """Each artifact read and checked (location, size, digest, kind checks), with its table."""
    for kind, ref in sorted(manifest.artifacts.items()):
        expected_key = layout.artifact_key(manifest.tenant, manifest.surface, kind, ref.sha256)
        if ref.uri != expected_key:
            raise ArtifactError(
                f"manifest {manifest.manifest_version}: {kind} uri {ref.uri!r} "
                f"is not {expected_key!r}"
            )
        where = storage.uri_for(ref.uri)
        try:
            data = storage.read_bytes(ref.uri)
        except NotFoundError:
            raise ArtifactError(f"{where}: artifact is missing") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != ref.sha256 or len(data) != ref.bytes:
            raise ArtifactError(
                f"{where}: digest {digest[:12]}… ({len(data)} bytes) does not match the "
                f"manifest ({ref.sha256[:12]}…, {ref.bytes} bytes)"
            )
        yield kind, data, validate_artifact(kind, data, where)


def verify_artifacts(storage: Storage, manifest: Manifest) -> dict[str, bytes]:
    """Read every artifact and check location, size, digest and kind checks."""
    return {kind: data for kind, data, _ in _verified(storage, manifest)}


def load_verified(
    storage: Storage, keys: SigningKeys, tenant: str, surface: str
) -> tuple[Current, dict[str, bytes]] | None:
    """The current manifest with its artifact bytes, everything verified; None if unpublished."""
    current = read_current(storage, keys, tenant, surface)
    if current is None:
        return None
    return current, verify_artifacts(storage, current.manifest)


def load_verified_tables(
    storage: Storage, keys: SigningKeys, tenant: str, surface: str
) -> tuple[Current, dict[str, pa.Table]] | None:
    """`load_verified`, with the tables the checks decoded (the service decodes once)."""
    current = read_current(storage, keys, tenant, surface)
    if current is None:
        return None
    return current, {kind: table for kind, _, table in _verified(storage, current.manifest)}


def _write_blob(storage: Storage, tenant: str, surface: str, blob: ArtifactBlob) -> ArtifactRef:
    key = layout.artifact_key(tenant, surface, blob.kind, blob.sha256)
    try:
        storage.write_new(key, blob.data)
    except AlreadyExists:
        # Content-addressed: an existing blob must already hold exactly these bytes.
        existing = hashlib.sha256(storage.read_bytes(key)).hexdigest()
        if existing != blob.sha256:
            raise ArtifactError(
                f"{storage.uri_for(key)}: existing blob is corrupt (digest {existing[:12]}…); "
                "move it aside and rerun — immutable blobs are never overwritten"
            ) from None
    return ArtifactRef(
        uri=key,
        sha256=blob.sha256,
        bytes=len(blob.data),
        rows=blob.rows,
        schema_version=blob.schema_version,
    )


def _undecodable_current(
    storage: Storage, tenant: str, surface: str
) -> tuple[Manifest | None, str | None]:
    """Current manifest fields for chaining; a broken pointer is replaced, not trusted."""
    found = read_pointer(storage, tenant, surface)
    if found is None:
        return None, None
    raw, token = found
    try:
        return msgspec.json.decode(raw, type=Manifest), token
    except (msgspec.MsgspecError, UnicodeDecodeError):
        return None, token


def _check_metrics(metrics: dict[str, float], where: str) -> None:
    """JSON has no NaN or Infinity: msgspec writes null, and the manifest would never decode."""
    for name, value in sorted(metrics.items()):
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not (number and math.isfinite(value)):
            raise ArtifactError(f"{where}: metric {name!r} is {value!r}: must be a finite number")


def publish(
    storage: Storage,
    keys: SigningKeys,
    *,
    tenant: str,
    surface: str,
    as_of: dt.date,
    window: Window,
    blobs: list[ArtifactBlob],
    lineage: Lineage,
    metrics: dict[str, float],
    allow_rewind: bool = False,
    now: dt.datetime | None = None,
) -> PublishOutcome:
    """Validate blobs, write them, write the history record, then swap the pointer (last)."""
    if not blobs:
        raise ArtifactError(f"{tenant}/{surface} {as_of}: nothing to publish")
    _check_metrics(metrics, f"{tenant}/{surface} {as_of}")
    kinds = [blob.kind for blob in blobs]
    if len(set(kinds)) != len(kinds):
        # The manifest maps kind -> artifact; a second blob of a kind would vanish silently.
        raise ArtifactError(f"{tenant}/{surface} {as_of}: artifact kinds repeat: {sorted(kinds)}")
    for blob in blobs:
        validate_artifact(blob.kind, blob.data, f"{tenant}/{surface} {as_of} {blob.kind}")
    current, token = _undecodable_current(storage, tenant, surface)
    refs = {blob.kind: _write_blob(storage, tenant, surface, blob) for blob in blobs}
    created = now or _utc_now()
    unsigned = Manifest(
        schema_version=MANIFEST_SCHEMA_VERSION,
        tenant=tenant,
        surface=surface,
        manifest_version="",
        as_of=as_of.isoformat(),
        window=window,
        created_at=_rfc3339(created),
        artifacts=dict(sorted(refs.items())),
        lineage=lineage,
        metrics=dict(sorted(metrics.items())),
        previous_version=current.manifest_version if current else None,
    )
    version = make_version(created, unsigned)
    manifest = sign(msgspec.structs.replace(unsigned, manifest_version=version), keys)
    raw = encode(manifest)
    history_key = layout.history_key(tenant, surface, version)
    try:
        storage.write_new(history_key, raw)
    except AlreadyExists:
        # A retry of a publish that died before the swap (same clock and pointer) rebuilds
        # the very same record; anything else under that name is not ours to replace.
        if storage.read_bytes(history_key) != raw:
            raise ArtifactError(
                f"{storage.uri_for(history_key)}: history record {version} holds other bytes; "
                "history records are never overwritten"
            ) from None
    # Asked at the swap, as the rewind rule is: a hold set since the run decided still holds.
    hold = read_hold_state(storage, keys, tenant, surface)
    if hold.held:
        return PublishOutcome(
            manifest, swapped=False, message=f"{HELD_MESSAGE} ({hold.describe()})", hold=hold
        )
    if current is not None and not may_replace_serving(manifest.as_of, current.as_of, allow_rewind):
        return PublishOutcome(
            manifest,
            swapped=False,
            message=(
                f"kept {current.manifest_version} (as_of {current.as_of}) serving: "
                f"{version} is for the older day {manifest.as_of}; pass allow_rewind to serve it"
            ),
        )
    storage.compare_and_swap(layout.pointer_key(tenant, surface), raw, token)
    return PublishOutcome(manifest, swapped=True, message=f"serving {version}")
