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


def exposure_events(exposure: Exposure, ts_ms: int) -> list[LandingEvent]:
    """One `exposure` event per returned item; rank is its 0-based position in the list."""
    return [
        LandingEvent(
            ts=ts_ms,
            tenant=exposure.tenant,
            surface=exposure.surface,
            event_type="exposure",
            item_id=item.item_id,
            event_id=exposure_event_id(exposure.request_id, exposure.slot, rank, item.item_id),
            user_id=exposure.user_id,
            session_id=exposure.session_id,
            request_id=exposure.request_id,
            rank=rank,
            manifest_version=exposure.manifest_version,
        )
        for rank, item in enumerate(exposure.items)
    ]
