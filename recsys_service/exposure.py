"""Exposure events: what the service logs for each recommendation it answers, and their ids."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from recsys_service.request_id import new_request_id
from recsys_service.schemas import RecommendedItem

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


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
    return (moment - _EPOCH) // _MS


@functools.lru_cache(maxsize=4096)
def day_of(ts_ms: int) -> dt.date:
    # Every exposure of one response shares its ts: buffering asks for the same day ~20 times.
    return (_EPOCH + ts_ms * _MS).date()


def item_key(item_id: str) -> str:
    """16 hex of sha256 of the item id (UTF-8)."""
    return hashlib.sha256(item_id.encode()).hexdigest()[:16]


def exposure_event_id(answer_id: str, rank: int, item_id: str) -> str:
    """`x-{answer_id}-{rank}-{item_key}`: unique per answer and item.

    The answer id is drawn fresh for every answer (never the client's X-Request-ID, which a
    proxy or SDK may repeat: ingest keeps one row per event id, so a shared id would merge
    different users' exposures). An item's key is the same in every answer (cached), so an
    answer costs no hash per exposure.
    """
    return f"x-{answer_id}-{rank}-{item_key(item_id)}"


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
    # 32 random hex (os.urandom), drawn for this answer: the event ids' answer part.
    answer_id: str = field(default_factory=new_request_id)


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


# Answers repeat items (a catalog's head most of all); ~250 bytes an entry, so at most ~8 MB.
@functools.lru_cache(maxsize=32_768)
def _item_parts(item_id: str) -> tuple[bytes, bytes]:
    """The item id as JSON, and its item_key."""
    return _encode(item_id), item_key(item_id).encode()


def exposure_lines(exposure: Exposure, ts_ms: int) -> list[bytes]:
    """One landing line per returned item (rank: its 0-based position): the JSON of the
    LandingEvent with exposure_event_id(exposure.answer_id, ...), built from the fields the
    items share, encoded once, and each item's cached parts (a Struct and an encode per item
    cost ~2x this)."""
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
    answer = exposure.answer_id.encode()
    lines = []
    for rank, item in enumerate(exposure.items):
        item_json, key = _item_parts(item.item_id)
        lines.append(
            b'%s%s,"event_id":"x-%s-%d-%s","rank":%d}' % (head, item_json, answer, rank, key, rank)
        )
    return lines
