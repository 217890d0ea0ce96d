"""Hypothesis strategies shared by tests: names valid and not, raw event objects."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from recsys_algo.contracts.events import EVENT_TYPES
from recsys_algo.contracts.names import NAME_PATTERN, is_valid_name
from tests.support.builders import (
    DAY,
)

_ids = st.text(alphabet="abcdefghij0123456789-_", min_size=1, max_size=12)


def valid_names() -> st.SearchStrategy[str]:
    """Tenant/surface names that satisfy NAME_PATTERN."""
    return st.from_regex(NAME_PATTERN, fullmatch=True).filter(is_valid_name)


def invalid_names() -> st.SearchStrategy[str]:
    """Strings that must be rejected as tenant/surface names."""
    return st.text(max_size=70).filter(lambda s: not is_valid_name(s))


@st.composite
def raw_events(draw: st.DrawFn, day: dt.date = DAY) -> dict[str, Any]:
    """Valid raw events inside day, mixing epoch-ms and RFC 3339 timestamps and optional fields."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    offset_ms = draw(st.integers(0, 86_400_000 - 1))
    moment = start + dt.timedelta(milliseconds=offset_ms)
    ts: str | int = (
        moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if draw(st.booleans())
        else int(moment.timestamp() * 1000)
    )
    event: dict[str, Any] = {"ts": ts, "item_id": draw(_ids)}
    optional = {
        "event_type": st.sampled_from(EVENT_TYPES),
        "user_id": _ids,
        "session_id": _ids,
        "value": st.floats(-1e6, 1e6, allow_nan=False),
        "request_id": _ids,
        "rank": st.integers(0, 1000),
        "event_id": _ids,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            event[name] = draw(strategy)
    return event
