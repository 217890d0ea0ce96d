"""Values the policy tests decide over: a serving manifest with the fields decisions read."""

from __future__ import annotations

import datetime as dt

from recsys_algo import CODE_VERSION
from recsys_algo.contracts.manifest import MANIFEST_SCHEMA_VERSION, Lineage, Manifest, Window
from recsys_algo.evaluation.gate import GATE_METRIC

PUBLISHED = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)


def serving(as_of: dt.date, ndcg: float = 0.5) -> Manifest:
    """A demo/home manifest for as_of, created at PUBLISHED, recording ndcg as the gate metric."""
    return Manifest(
        schema_version=MANIFEST_SCHEMA_VERSION,
        tenant="demo",
        surface="home",
        manifest_version="20261120T060000000Z-00000000",
        as_of=as_of.isoformat(),
        window=Window(start="2026-11-01", end=as_of.isoformat(), days=7),
        created_at=PUBLISHED.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        artifacts={},
        lineage=Lineage(inputs={}, code_version=CODE_VERSION, parameters={}),
        metrics={GATE_METRIC: ndcg},
        previous_version=None,
    )
