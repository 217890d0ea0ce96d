"""Small builders shared by tests: events, frames, keys, storage, published manifests."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from recsys_algo.contracts import layout
from recsys_algo.contracts.events import CANONICAL_SCHEMA, STAGING_SCHEMA
from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.contracts.signing import SigningKeys, parse_signing_keys
from recsys_algo.kinds.artifacts import ArtifactBlob, encode_artifact
from recsys_algo.kinds.neighbors import NEIGHBOR_SCHEMA
from recsys_algo.kinds.popularity import SCHEMA_VERSION as POPULARITY_SCHEMA_VERSION
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.registry import PublishOutcome, publish
from recsys_algo.store.storage import FileStorage, Storage

DAY = dt.date(2026, 11, 20)
DAY_START = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC)
DAY_START_MS = int(DAY_START.timestamp() * 1000)
TENANT = "demo"
SURFACE = "home"


# --- names -------------------------------------------------------------------------------------


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


def write_canonical_days(
    storage: Storage, events: pl.DataFrame, tenant: str = TENANT, surface: str = SURFACE
) -> None:
    """events as the scope's canonical day files (by UTC day of ts) and an empty catalog."""
    for (day,), frame in events.with_columns(_day=pl.col("ts").dt.date()).group_by("_day"):
        buffer = io.BytesIO()
        frame.drop("_day").write_parquet(buffer)
        storage.write_bytes(layout.canonical_key(tenant, surface, day), buffer.getvalue())
    write_catalog(storage, tenant, [])


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
