"""Exposure events: what the service logs for each recommendation it answers, and their ids."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from recsys_service.schemas import RecommendedItem

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class LandingEvent(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """One line as the service writes it: the raw event contract, already normalised.

    `manifest_version` is an extra field of exposures; ingest ignores it (docs/contracts.md).
    """

    ts: int  # epoch ms
    tenant: str
    surface: str
    event_type: str
    item_id: str
    event_id: str
    user_id: str | None = None
    session_id: str | None = None
    value: float | None = None
    request_id: str | None = None
    rank: int | None = None
    manifest_version: str | None = None


def epoch_ms(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


@functools.lru_cache(maxsize=4096)
def day_of(ts_ms: int) -> dt.date:
    # Every exposure of one response shares its ts: buffering asks for the same day ~20 times.
    return (_EPOCH + dt.timedelta(milliseconds=ts_ms)).date()


def exposure_event_id(request_id: str, slot: int | None, rank: int, item_id: str) -> str:
    """Same request id, batch slot, rank and item -> same id, so a replay dedupes on ingest."""
    content = msgspec.json.encode([request_id, slot, rank, item_id])
    return "x-" + hashlib.sha256(content).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Exposure:
    """One recommendation response to log: who saw which items, from which request and version."""

    tenant: str
    surface: str
    request_id: str
    manifest_version: str
    items: Sequence[RecommendedItem]
    user_id: str | None = None
    session_id: str | None = None
    slot: int | None = None  # the element's index in a batch


class _Shared(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """The LandingEvent fields every exposure of one response has in common."""

    ts: int
    tenant: str
    surface: str
    event_type: str  # no default: omit_defaults would drop it
    user_id: str | None = None
    session_id: str | None = None
    request_id: str
    manifest_version: str


_encode = msgspec.json.Encoder().encode
_sha256 = hashlib.sha256


def exposure_lines(exposure: Exposure, ts_ms: int) -> list[bytes]:
    """One landing line per returned item (rank: its 0-based position): the JSON of the
    LandingEvent, with the fields the items share encoded once and exposure_event_id's hash
    input assembled from pre-encoded parts (a Struct and an encode per item cost ~2x this)."""
    shared = _encode(
        _Shared(
            ts=ts_ms,
            tenant=exposure.tenant,
            surface=exposure.surface,
            event_type="exposure",
            user_id=exposure.user_id,
            session_id=exposure.session_id,
            request_id=exposure.request_id,
            manifest_version=exposure.manifest_version,
        )
    )
    head = shared[:-1] + b',"item_id":'
    id_head = _encode([exposure.request_id, exposure.slot])[:-1] + b","  # '["rid",slot,'
    lines = []
    for rank, item in enumerate(exposure.items):
        item_json = _encode(item.item_id)
        digest = _sha256(b"%s%d,%s]" % (id_head, rank, item_json)).hexdigest()[:32].encode()
        lines.append(b'%s%s,"event_id":"x-%s","rank":%d}' % (head, item_json, digest, rank))
    return lines
