"""Hypothesis strategies and small builders shared by tests (imports hypothesis: tests only)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import polars as pl
from hypothesis import strategies as st

from recsys_algo.artifacts import ArtifactBlob, encode_artifact
from recsys_algo.errors import DataSourceError
from recsys_algo.events import CANONICAL_SCHEMA, EVENT_TYPES, STAGING_SCHEMA
from recsys_algo.manifest import Lineage, Window
from recsys_algo.names import NAME_PATTERN, is_valid_name
from recsys_algo.neighbors import NEIGHBOR_SCHEMA
from recsys_algo.popularity import SCHEMA_VERSION as POPULARITY_SCHEMA_VERSION
from recsys_algo.registry import PublishOutcome, publish
from recsys_algo.signing import SigningKeys, parse_signing_keys
from recsys_algo.storage import FileStorage, ObjectStat, Storage

DAY = dt.date(2026, 11, 20)
DAY_START = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC)
DAY_START_MS = int(DAY_START.timestamp() * 1000)
_T = TypeVar("_T")
TENANT = "demo"
SURFACE = "home"


# --- names -------------------------------------------------------------------------------------


def valid_names() -> st.SearchStrategy[str]:
    """Tenant/surface names that satisfy NAME_PATTERN."""
    return st.from_regex(NAME_PATTERN, fullmatch=True).filter(is_valid_name)


def invalid_names() -> st.SearchStrategy[str]:
    """Strings that must be rejected as tenant/surface names."""
    return st.text(max_size=70).filter(lambda s: not is_valid_name(s))


# --- signing -----------------------------------------------------------------------------------


def key_spec(kid: str = "test-kid", fill: str = "ab") -> str:
    """'kid:<64 hex>' built from a two-hex-digit fill (fill is repeated 32 times)."""
    return f"{kid}:{fill * 32}"


SIGNING_SPEC = key_spec()
OTHER_SIGNING_SPEC = key_spec("other-kid", "cd")


def signing_keys(spec: str = SIGNING_SPEC) -> SigningKeys:
    return parse_signing_keys(spec)


# --- storage -----------------------------------------------------------------------------------


def tmp_storage(tmp_path: Path) -> FileStorage:
    """A FileStorage rooted in a fresh folder under tmp_path."""
    return FileStorage(tmp_path / "store")


# --- raw events --------------------------------------------------------------------------------


def raw_event(**fields: Any) -> dict[str, Any]:
    """A valid raw event dict for DAY; keyword arguments override or add fields (None drops)."""
    event: dict[str, Any] = {"ts": DAY_START_MS + 3_600_000, "item_id": "i1", "event_type": "click"}
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def raw_line(event: Mapping[str, Any] | None = None, **fields: Any) -> bytes:
    """One JSON line (no newline) of raw_event(**fields), or of event as given."""
    return msgspec.json.encode(dict(event) if event is not None else raw_event(**fields))


def raw_file(events: Sequence[Mapping[str, Any]]) -> bytes:
    return b"".join(raw_line(e) + b"\n" for e in events)


_ids = st.text(alphabet="abcdefghij0123456789-_", min_size=1, max_size=12)


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


# --- canonical frames --------------------------------------------------------------------------


def _row(i: int, fields: Mapping[str, Any], staging: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": f"e{i:06d}",
        "ts": DAY_START + dt.timedelta(minutes=i),
        "tenant": TENANT,
        "surface": SURFACE,
        "user_id": None,
        "session_id": None,
        "item_id": "i1",
        "event_type": "click",
        "value": None,
        "request_id": None,
        "rank": None,
    }
    if staging:
        row.update(source_file="a.jsonl", source_line=i + 1)
    row.update(fields)
    return row


def canonical_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame with CANONICAL_SCHEMA; each row gives only the fields that matter to the test."""
    data = [_row(i, r, staging=False) for i, r in enumerate(rows)]
    return pl.DataFrame(data, schema=CANONICAL_SCHEMA, orient="row")


def staging_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Like canonical_frame, with source_file and source_line (STAGING_SCHEMA)."""
    data = [_row(i, r, staging=True) for i, r in enumerate(rows)]
    return pl.DataFrame(data, schema=STAGING_SCHEMA, orient="row")


# --- artifacts and manifests -------------------------------------------------------------------

POPULARITY_FRAME_SCHEMA = {"item_id": pl.String(), "score": pl.Float64(), "events": pl.Int64()}


def popularity_frame(items: Sequence[str]) -> pl.DataFrame:
    """Items with strictly decreasing scores (first item most popular)."""
    n = len(items)
    return pl.DataFrame(
        {
            "item_id": list(items),
            "score": [float(n - i) for i in range(n)],
            "events": [n - i for i in range(n)],
        },
        schema=POPULARITY_FRAME_SCHEMA,
    )


def neighbor_frame(rows: Sequence[tuple[str, str, float]]) -> pl.DataFrame:
    """A neighbour artifact (cooc, content_sim, session_seq) in artifact order, support 1."""
    frame = pl.DataFrame(
        [(item, neighbor, score, 1) for item, neighbor, score in rows],
        schema=NEIGHBOR_SCHEMA,
        orient="row",
    )
    return frame.sort(["item_id", "score", "neighbor_id"], descending=[False, True, False])


def popularity_blob(items: Sequence[str] = ("a", "b", "c")) -> ArtifactBlob:
    return encode_artifact(popularity_frame(items), "popularity", POPULARITY_SCHEMA_VERSION)


def window_for(as_of: dt.date, days: int = 7) -> Window:
    start = as_of - dt.timedelta(days=days - 1)
    return Window(start=start.isoformat(), end=as_of.isoformat(), days=days)


def publish_popularity(
    storage: Storage,
    keys: SigningKeys | None = None,
    *,
    tenant: str = TENANT,
    surface: str = SURFACE,
    items: Sequence[str] = ("a", "b", "c"),
    as_of: dt.date = DAY,
    metrics: Mapping[str, float] | None = None,
    now: dt.datetime | None = None,
    allow_rewind: bool = False,
) -> PublishOutcome:
    """Publish a real signed popularity manifest through registry.publish."""
    return publish(
        storage,
        keys or signing_keys(),
        tenant=tenant,
        surface=surface,
        as_of=as_of,
        window=window_for(as_of),
        blobs=[popularity_blob(items)],
        lineage=Lineage(inputs={}, code_version="test", parameters={"top_n": 10}),
        metrics=dict(metrics or {"rows": 3.0}),
        allow_rewind=allow_rewind,
        now=now,
    )


# --- fault injection ---------------------------------------------------------------------------

MUTATING_OPS = ("write_bytes", "write_new", "delete", "compare_and_swap")
STORAGE_OPS = ("read_bytes", "read_with_token", "exists", "stat", "list", *MUTATING_OPS)


class InjectedFault(Exception):
    """Raised by FaultyStorage's default fault (tests catch it to tell it from real errors)."""


@dataclass
class FaultyStorage(Storage):
    """Delegates to `inner` and runs `fault` at the nth (1-based) call of one of `ops`.

    `when="before"` faults instead of the call; `when="after"` lets the call complete first
    (the effect is in storage, the caller never learns). `fault` may raise (storage erroring),
    sleep (slow storage) or end the process (`die_now`: a kill -9 at that exact step).
    `calls` records (op, key) of every call, so a test can count the steps of a run.
    """

    inner: Storage
    nth: int = 0  # 0: never fault (count only)
    ops: tuple[str, ...] = STORAGE_OPS
    when: str = "before"
    fault: Callable[[str, str], None] | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    _seen: int = 0

    def __post_init__(self) -> None:
        self.url = self.inner.url

    def _call(self, op: str, key: str, run: Callable[[], _T]) -> _T:
        self.calls.append((op, key))
        hit = False
        if op in self.ops:
            self._seen += 1
            hit = self._seen == self.nth
        if hit and self.when == "before":
            self._fault(op, key)
        result = run()
        if hit and self.when == "after":
            self._fault(op, key)
        return result

    def _fault(self, op: str, key: str) -> None:
        if self.fault is None:
            raise InjectedFault(f"injected fault at {op} {key}")
        self.fault(op, key)

    def read_bytes(self, key: str) -> bytes:
        return self._call("read_bytes", key, lambda: self.inner.read_bytes(key))

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        return self._call("read_with_token", key, lambda: self.inner.read_with_token(key))

    def write_bytes(self, key: str, data: bytes) -> None:
        self._call("write_bytes", key, lambda: self.inner.write_bytes(key, data))

    def write_new(self, key: str, data: bytes) -> None:
        self._call("write_new", key, lambda: self.inner.write_new(key, data))

    def exists(self, key: str) -> bool:
        return self._call("exists", key, lambda: self.inner.exists(key))

    def stat(self, key: str) -> ObjectStat:
        return self._call("stat", key, lambda: self.inner.stat(key))

    def list(self, prefix: str) -> list[str]:
        return self._call("list", prefix, lambda: self.inner.list(prefix))

    def delete(self, key: str) -> None:
        self._call("delete", key, lambda: self.inner.delete(key))

    def compare_and_swap(self, key: str, data: bytes, expected_token: str | None) -> str:
        return self._call(
            "compare_and_swap", key, lambda: self.inner.compare_and_swap(key, data, expected_token)
        )


def die_now(op: str, key: str) -> None:
    """A FaultyStorage fault: SIGKILL this process (no cleanup, no finally, no flush)."""
    os.kill(os.getpid(), signal.SIGKILL)


def raise_data_source_error(op: str, key: str) -> None:
    """A FaultyStorage fault: what S3Storage raises when the endpoint drops mid-run."""
    raise DataSourceError(f"{key}: cannot reach S3 endpoint http://127.0.0.1:9 (injected {op})")


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM a server the tests or benchmarks started, then SIGKILL it after `grace` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
