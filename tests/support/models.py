"""Small real models of all five kinds, computed from synthetic events (tests and tools only)."""

from __future__ import annotations

import datetime as dt
import functools

import pyarrow as pa

from recsys_algo.contracts.canonical import canonicalize
from recsys_algo.contracts.catalog import decode_catalog, encode_catalog
from recsys_algo.contracts.events import parse_files
from recsys_algo.kinds.artifacts import ArtifactBlob, decode_artifact
from recsys_algo.kinds.registry import SPECS, Inputs, compute_kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.synthetic import generator as synthetic

DAY = dt.date(2026, 11, 20)


@functools.lru_cache(maxsize=4)
def synthetic_blobs(
    seed: int = 3, events: int = 4000, users: int = 150, items: int = 120
) -> tuple[ArtifactBlob, ...]:
    """Every kind's artifact over one synthetic day (same arguments, same bytes)."""
    data = synthetic.generate_day(
        seed, DAY, "demo", "home", events_per_day=events, n_users=users, n_items=items,
        bad_line_rate=0.0,
    )  # fmt: skip
    parsed = parse_files([("day.jsonl", data)], "demo", "home", DAY)
    frame, _ = canonicalize(parsed.frame())
    catalog = decode_catalog(
        encode_catalog(synthetic.generate_catalog(seed, items)), "synthetic catalog"
    )
    inputs = Inputs(frame, catalog, dt.datetime.combine(DAY, dt.time(), dt.UTC) + dt.timedelta(1))
    params = ModelParams()
    return tuple(compute_kind(kind, inputs, params.of(kind)) for kind in SPECS)


def synthetic_tables(seed: int = 3) -> dict[str, pa.Table]:
    return {
        b.kind: decode_artifact(b.data, b.kind, f"synthetic {b.kind}")
        for b in synthetic_blobs(seed)
    }
