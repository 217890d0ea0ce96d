"""The five artifact kinds behind one interface: parameters, compute, load, evaluate."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from recsys_algo import collab, content_sim, cooc, evaluation, popularity, session_seq
from recsys_algo.artifacts import ArtifactBlob, decode_artifact, encode_artifact
from recsys_algo.errors import ConfigError
from recsys_algo.ranking import ItemVocab
from recsys_algo.recommender import KINDS, BlendParams, ScopeModel, build_model


@dataclass(frozen=True)
class ModelParams:
    popularity: popularity.PopularityParams = field(default_factory=popularity.PopularityParams)
    cooc: cooc.CoocParams = field(default_factory=cooc.CoocParams)
    # Two threads, fixed: ALS and the top-N product are deterministic for a fixed thread count.
    implicit: collab.CollabParams = field(
        default_factory=lambda: collab.CollabParams(num_threads=2)
    )
    content_sim: content_sim.ContentSimParams = field(default_factory=content_sim.ContentSimParams)
    session_seq: session_seq.SessionSeqParams = field(default_factory=session_seq.SessionSeqParams)
    blend: BlendParams = field(default_factory=BlendParams)
    evaluation: evaluation.EvalParams = field(default_factory=evaluation.EvalParams)

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Mapping[str, Any]]) -> ModelParams:
        """Defaults with per-section overrides, e.g. {"cooc": {"similarity": "lift"}}."""
        defaults = cls()
        sections = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(cls)}
        unknown = set(overrides) - set(sections)
        if unknown:
            raise ConfigError(
                f"model parameters: unknown section(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sections)}"
            )
        built = {}
        for name, current in sections.items():
            given = dict(overrides.get(name, {}))
            known = {f.name for f in dataclasses.fields(current)}
            bad = set(given) - known
            if bad:
                raise ConfigError(
                    f"model parameters: {name} has no {', '.join(sorted(bad))}; "
                    f"known: {', '.join(sorted(known))}"
                )
            if "ks" in given:
                given["ks"] = tuple(given["ks"])
            try:
                built[name] = dataclasses.replace(current, **given)
            except TypeError as exc:
                raise ConfigError(f"model parameters: {name}: {exc}") from None
        return cls(**built)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name).as_dict() for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Inputs:
    """What every kind may read: the window's canonical events and the tenant's catalog."""

    events: pl.DataFrame
    catalog: pl.DataFrame
    as_of_end: dt.datetime  # exclusive end of the window; decay ages are measured from here


@dataclass(frozen=True)
class KindSpec:
    schema_version: int
    compute: Callable[[Inputs, ModelParams], pl.DataFrame]


SPECS: dict[str, KindSpec] = {
    "popularity": KindSpec(
        popularity.SCHEMA_VERSION,
        lambda i, p: popularity.compute_popularity(i.events, i.as_of_end, p.popularity),
    ),
    "cooc": KindSpec(
        cooc.SCHEMA_VERSION, lambda i, p: cooc.compute_cooc(i.events, i.as_of_end, p.cooc)
    ),
    "implicit": KindSpec(
        collab.SCHEMA_VERSION,
        lambda i, p: collab.collab_frame(collab.fit_collab(i.events, i.as_of_end, p.implicit)),
    ),
    "content_sim": KindSpec(
        content_sim.SCHEMA_VERSION,
        lambda i, p: content_sim.compute_content_sim(i.catalog, p.content_sim),
    ),
    "session_seq": KindSpec(
        session_seq.SCHEMA_VERSION,
        lambda i, p: session_seq.compute_session_seq(i.events, i.as_of_end, p.session_seq),
    ),
}
if tuple(SPECS) != KINDS:  # not an assert: -O must not skip it
    raise RuntimeError("models.SPECS and recommender.KINDS disagree")


def compute_kind(kind: str, inputs: Inputs, params: ModelParams) -> ArtifactBlob:
    spec = SPECS.get(kind)
    if spec is None:
        raise ConfigError(f"unknown artifact kind {kind!r}; known: {', '.join(SPECS)}")
    return encode_artifact(spec.compute(inputs, params), kind, spec.schema_version)


def tables_of(blobs: Mapping[str, bytes], where: str = "") -> dict[str, pa.Table]:
    return {kind: decode_artifact(data, kind, f"{where}{kind}") for kind, data in blobs.items()}


def load_model(
    tables: Mapping[str, pa.Table], parameters: Mapping[str, Any], where: str = ""
) -> ScopeModel:
    """The served model of one manifest: popularity required, other kinds used when present.

    parameters are the manifest's lineage parameters: fold-in needs the fit's regularization
    and alpha, which the artifact file does not carry.
    """
    fit = parameters.get("implicit") or {}
    defaults = collab.CollabParams()
    regularization = float(fit.get("regularization", defaults.regularization))
    alpha = float(fit.get("alpha", defaults.alpha))

    def collab_index(table: pa.Table, vocab: ItemVocab) -> collab.CollabIndex:
        return collab.CollabIndex.from_table(table, vocab, regularization, alpha)

    return build_model(tables, collab_index, where=where)


def catalog_items(inputs: Inputs) -> int:
    seen = inputs.events["item_id"].unique()
    return int(pl.concat([seen, inputs.catalog["item_id"]]).n_unique())


# Kinds that do not read events: the evaluation may reuse the artifact built for publishing.
EVENT_FREE_KINDS = ("content_sim",)


def evaluate_window(
    inputs: Inputs, params: ModelParams, built: Mapping[str, pa.Table] | None = None
) -> dict[str, float]:
    """Hold out the window's last day, train every kind on the rest, score kinds and blend."""
    split = evaluation.split_window(inputs.events, inputs.as_of_end, params.evaluation)
    return evaluate_split(inputs, split, params, built)


def evaluate_split(
    inputs: Inputs,
    split: evaluation.Split,
    params: ModelParams,
    built: Mapping[str, pa.Table] | None = None,
) -> dict[str, float]:
    """Train every kind on split.train, then score each kind and the blend on held-out users.

    built: artifacts already computed from the same inputs and params; those of
    EVENT_FREE_KINDS are reused, since the split cannot change them.
    """
    train = Inputs(split.train, inputs.catalog, split.holdout_start)
    reuse = {k: t for k, t in (built or {}).items() if k in EVENT_FREE_KINDS}
    tables = {
        kind: reuse[kind] if kind in reuse else spec.compute(train, params).to_arrow()
        for kind, spec in SPECS.items()
    }
    model = load_model(tables, params.as_dict())
    data = evaluation.holdout(split, params.evaluation)
    return evaluation.evaluate_model(
        model, data, params.evaluation, params.blend, catalog_size=catalog_items(inputs)
    )
