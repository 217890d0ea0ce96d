"""How each kind is configured, computed and checked: the one table the pipeline runs.

Keyed by `Kind` (recsys_algo.kinds.kind); nothing outside `kinds/` lists the kinds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.kinds import cooc, popularity, revisit, session_knn, session_seq
from recsys_algo.kinds.artifacts import ArtifactBlob, decode_artifact, encode_artifact
from recsys_algo.kinds.content_sim import similarity as content_sim
from recsys_algo.kinds.implicit import artifact as implicit_artifact
from recsys_algo.kinds.implicit import fit as implicit_fit
from recsys_algo.kinds.item_model import artifact as item_model_artifact
from recsys_algo.kinds.item_model import fit as item_model_fit
from recsys_algo.kinds.kind import KINDS, Kind


@dataclass(frozen=True)
class Inputs:
    """What every kind may read: the window's canonical events and the tenant's catalog."""

    events: pl.DataFrame
    catalog: pl.DataFrame
    as_of_end: dt.datetime  # exclusive end of the window; decay ages are measured from here


@dataclass(frozen=True)
class KindSpec:
    schema_version: int
    defaults: Callable[[], Any]  # the kind's parameters (a frozen dataclass with as_dict)
    compute: Callable[[Inputs, Any], pl.DataFrame]
    check: Callable[[pa.Table, str], None]  # blocking checks of a decoded artifact


SPECS: Mapping[Kind, KindSpec] = {
    Kind.POPULARITY: KindSpec(
        popularity.SCHEMA_VERSION,
        popularity.PopularityParams,
        lambda i, p: popularity.compute_popularity(i.events, i.as_of_end, p),
        popularity.check_popularity,
    ),
    Kind.COOC: KindSpec(
        cooc.SCHEMA_VERSION,
        cooc.CoocParams,
        lambda i, p: cooc.compute_cooc(i.events, i.as_of_end, p),
        cooc.check_cooc,
    ),
    Kind.IMPLICIT: KindSpec(
        implicit_artifact.SCHEMA_VERSION,
        # Two threads, fixed: ALS and the top-N product are deterministic for a fixed count.
        lambda: implicit_fit.CollabParams(num_threads=2),
        lambda i, p: implicit_fit.collab_frame(implicit_fit.fit_collab(i.events, i.as_of_end, p)),
        implicit_artifact.check_implicit,
    ),
    Kind.CONTENT_SIM: KindSpec(
        content_sim.SCHEMA_VERSION,
        content_sim.ContentSimParams,
        lambda i, p: content_sim.compute_content_sim(i.catalog, p),
        content_sim.check_content_sim,
    ),
    Kind.SESSION_SEQ: KindSpec(
        session_seq.SCHEMA_VERSION,
        session_seq.SessionSeqParams,
        lambda i, p: session_seq.compute_session_seq(i.events, i.as_of_end, p),
        session_seq.check_session_seq,
    ),
    Kind.REVISIT: KindSpec(
        revisit.SCHEMA_VERSION,
        revisit.RevisitParams,
        lambda i, p: revisit.compute_revisit(i.events, i.as_of_end, p),
        revisit.check_revisit,
    ),
    Kind.SESSION_KNN: KindSpec(
        session_knn.SCHEMA_VERSION,
        session_knn.SessionKnnParams,
        lambda i, p: session_knn.compute_session_knn(i.events, i.as_of_end, p),
        session_knn.check_session_knn,
    ),
    Kind.ITEM_MODEL: KindSpec(
        item_model_artifact.SCHEMA_VERSION,
        # Two threads, fixed, as for implicit: the products are deterministic for a fixed count.
        lambda: item_model_fit.ItemModelParams(num_threads=2),
        lambda i, p: item_model_fit.compute_item_model(i.events, i.as_of_end, p),
        item_model_artifact.check_item_model,
    ),
}
if tuple(SPECS) != KINDS:  # not an assert: -O must not skip it
    raise RuntimeError("kinds.registry.SPECS must list every Kind, in Kind order")


def kind_of(name: str, error: type[Exception] = ConfigError, where: str = "") -> Kind:
    """The Kind named `name`; `error` says which kinds exist."""
    try:
        return Kind(name)
    except ValueError:
        known = ", ".join(KINDS)
        raise error(f"{where}unknown artifact kind {name!r}; known: {known}") from None


def default_params() -> dict[Kind, Any]:
    return {kind: spec.defaults() for kind, spec in SPECS.items()}


def compute_kind(kind: str, inputs: Inputs, params: Any) -> ArtifactBlob:
    """One kind's artifact from the inputs, with that kind's parameters."""
    spec = SPECS[kind_of(kind)]
    return encode_artifact(spec.compute(inputs, params), kind, spec.schema_version)


def validate_artifact(kind: str, data: bytes, where: str) -> pa.Table:
    """Decode and run the kind's blocking checks; raise ArtifactError naming what is wrong."""
    spec = SPECS[kind_of(kind, ArtifactError, f"{where}: ")]
    table = decode_artifact(data, kind, where)
    spec.check(table, where)
    return table


def tables_of(blobs: Mapping[str, bytes], where: str = "") -> dict[str, pa.Table]:
    """Decode artifact bytes by kind (no checks: for artifacts this process just built)."""
    return {kind: decode_artifact(data, kind, f"{where}{kind}") for kind, data in blobs.items()}
