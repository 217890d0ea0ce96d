"""Offline evaluation: hold out the window's last day, retrain every kind on the rest, and score
every kind and the served blend on the held-out users and the held-out session positions."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.evaluation import metrics
from recsys_algo.evaluation.params import EvalParams
from recsys_algo.evaluation.sessions import SessionCases, session_cases
from recsys_algo.evaluation.split import Holdout, Split, holdout, split_window
from recsys_algo.kinds.kind import INFO, KINDS, POPULARITY, Kind
from recsys_algo.kinds.registry import Inputs, frame_or_reason
from recsys_algo.loading.model import load_model
from recsys_algo.serving.batched_model import candidates_many
from recsys_algo.serving.recommender import BlendParams, Query, ScopeModel

BLEND = "blend"
SESSION_CASES = "session_cases"
REPEAT_TARGETS = "repeat"  # the target is in its prefix (session_hr_repeat@k)
# Kinds that do not read events: the evaluation may reuse the artifact built for publishing.
EVENT_FREE_KINDS: tuple[Kind, ...] = tuple(k for k in KINDS if not INFO[k].reads_events)


def rank_queries(
    model: ScopeModel, queries: Sequence[Query], blend_params: BlendParams, top: int
) -> dict[str, list[list[str]]]:
    """Each kind's own top items and the served blend's, per query (what the service returns)."""
    ranked: dict[str, list[list[str]]] = {kind: [] for kind in (*model.kinds, BLEND)}
    # Each kind ranks all the queries in one batch (same lists as model.candidates per query).
    for found in candidates_many(model, queries, blend_params):
        for kind in model.kinds:
            ranked[kind].append([item for item, _ in model.scored(found[kind].head(top))])
        fused = model.fuse(found, top, blend_params)
        ranked[BLEND].append([r.item_id for r in model.recommendations(fused)])
    return ranked


def user_metrics(
    model: ScopeModel,
    data: Holdout,
    params: EvalParams,
    blend_params: BlendParams,
    *,
    catalog_size: int,
) -> dict[str, float]:
    """Recall, NDCG, MRR and coverage at each k, plus next-item hit rate, per kind and blend:
    each held-out user's query is their training items, all of them excluded."""
    if len(data.users) < params.min_users:
        return {"users": float(len(data.users))}  # too few to measure; the gate says so
    top = max(params.ks)
    queries = [
        Query(k=top, user_id=user_id, session_items=history, exclude=frozenset(history))
        for user_id, history in zip(data.users, data.histories, strict=True)
    ]
    out: dict[str, float] = {"users": float(len(data.users))}
    for source, recs in rank_queries(model, queries, blend_params, top).items():
        scores = user_scores(recs, data, params.ks, catalog_size)
        out.update({f"{source}.{name}": value for name, value in scores.items()})
    return out


def user_scores(
    recs: Sequence[Sequence[str]], data: Holdout, ks: Sequence[int], catalog_size: int
) -> dict[str, float]:
    """One source's lists for data's users: Recall, NDCG, MRR, coverage and next-item hit rate
    at each k."""
    scores = metrics.evaluate(recs, data.truth, ks, catalog_size=catalog_size)
    out = {name: value for name, value in scores.items() if name != "users"}
    for k in ks:
        out[f"next_hit@{k}"] = metrics.recall_at_k(recs, data.next_item, k)
    return out


def session_scores(
    recs: Sequence[Sequence[str]], cases: SessionCases, ks: Sequence[int]
) -> dict[str, float]:
    """One source's lists for the session cases: HR and MRR at each k (the MRR's standard error
    clustered by session), and the hit rate at the largest k on repeat targets and on new ones
    apart."""
    top = max(ks)
    hits, sizes = metrics.hit_matrix(recs, [{target} for target in cases.targets], top)
    # A session's positions move together: the MRR's standard error is clustered by session.
    session_of = np.asarray(cases.session_of, dtype=np.int64)
    out = {}
    for k in ks:
        out[f"session_hr@{k}"] = metrics.recall_of(hits[:, :k], sizes, k)
        out[f"session_mrr@{k}"], out[f"session_mrr_se@{k}"] = metrics.mrr_with_se(
            hits[:, :k], session_of
        )
    found = np.asarray(hits.any(axis=1), dtype=bool)
    repeats = np.asarray(cases.repeats, dtype=bool)
    for name, part in ((REPEAT_TARGETS, repeats), ("new", ~repeats)):
        chosen = found[part]
        out[f"session_hr_{name}@{top}"] = float(chosen.mean()) if chosen.size else 0.0
    return out


def session_metrics(
    model: ScopeModel, cases: SessionCases, params: EvalParams, blend_params: BlendParams
) -> dict[str, float]:
    """HR and MRR at each k per kind and blend over held-out session positions, each predicted
    from its prefix alone (no user, nothing excluded: the session's own items may come back),
    and the hit rate at the largest k on repeat targets and on new ones apart."""
    out = {
        "sessions": float(cases.sessions),
        SESSION_CASES: float(len(cases)),
        f"{SESSION_CASES}_repeat": float(sum(cases.repeats)),
    }
    if len(cases) < params.min_session_cases:
        return out  # too few to measure; the gate says so
    top = max(params.ks)
    queries = [Query(k=top, session_items=prefix) for prefix in cases.prefixes]
    for source, recs in rank_queries(model, queries, blend_params, top).items():
        scores = session_scores(recs, cases, params.ks)
        out.update({f"{source}.{name}": value for name, value in scores.items()})
    return out


def evaluate_model(
    model: ScopeModel,
    data: Holdout,
    params: EvalParams,
    blend_params: BlendParams,
    *,
    catalog_size: int,
    cases: SessionCases | None = None,
) -> dict[str, float]:
    """The user metrics (user_metrics) and, given held-out session cases, the session ones."""
    out = user_metrics(model, data, params, blend_params, catalog_size=catalog_size)
    if cases is not None:
        out.update(session_metrics(model, cases, params, blend_params))
    return dict(sorted(out.items()))


def metric_table(values: Mapping[str, float], sources: Sequence[str]) -> str:
    """Markdown table of sources x metrics for the Dagster UI and docs."""
    names = sorted({key.split(".", 1)[1] for key in values if "." in key})
    lines = ["| source | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for source in sources:
        cells = [f"{values.get(f'{source}.{n}', float('nan')):.4f}" for n in names]
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def catalog_items(inputs: Inputs) -> int:
    seen = inputs.events["item_id"].unique()
    return int(pl.concat([seen, inputs.catalog["item_id"]]).n_unique())


class Settings(Protocol):
    """What an evaluation is run with (recsys_algo.recipes.params.ModelParams is one)."""

    @property
    def kinds(self) -> Mapping[Kind, Any]: ...
    @property
    def blend(self) -> BlendParams: ...
    @property
    def evaluation(self) -> EvalParams: ...


def evaluate_window(
    inputs: Inputs,
    params: Settings,
    built: Mapping[str, pa.Table] | None = None,
    kinds: Collection[str] | None = None,
) -> dict[str, float]:
    """Hold out the window's last day, train every kind on the rest, score kinds and blend."""
    split = split_window(inputs.events, inputs.as_of_end, params.evaluation)
    return evaluate_split(inputs, split, params, built, kinds)


def evaluate_split(
    inputs: Inputs,
    split: Split,
    params: Settings,
    built: Mapping[str, pa.Table] | None = None,
    kinds: Collection[str] | None = None,
) -> dict[str, float]:
    """Train the kinds on split.train, then score each kind and the blend on held-out users.

    kinds: the kinds the manifest holds (default all); one whose training part falls short of
    its minimum (kinds.minimums) is left out of the model, as serving would leave it out.
    built: artifacts already computed from the same inputs and parameters; those of
    EVENT_FREE_KINDS are reused, since the split cannot change them.
    """
    model = split_model(inputs, split, params, built, kinds)
    if model is None:  # nothing to fill a list with: not measured
        return {"users": 0.0}
    data = holdout(split, params.evaluation)
    cases = session_cases(split, params.evaluation)
    return evaluate_model(
        model,
        data,
        params.evaluation,
        params.blend,
        catalog_size=catalog_items(inputs),
        cases=cases,
    )


def split_model(
    inputs: Inputs,
    split: Split,
    params: Settings,
    built: Mapping[str, pa.Table] | None = None,
    kinds: Collection[str] | None = None,
) -> ScopeModel | None:
    """The served model of the kinds trained on split.train (see evaluate_split); None without
    popularity."""
    train = Inputs(split.train, inputs.catalog, split.holdout_start)
    reuse = {k: t for k, t in (built or {}).items() if k in EVENT_FREE_KINDS}
    tables: dict[str, pa.Table] = {}
    for kind in KINDS:
        if kinds is not None and kind not in kinds:
            continue
        found = reuse.get(kind)
        if found is None:
            frame = frame_or_reason(kind, train, params.kinds[kind])
            found = None if isinstance(frame, str) else frame.to_arrow()
        if found is not None:
            tables[kind] = found
    if POPULARITY not in tables:
        return None
    return load_model(tables, {str(kind): params.kinds[kind].as_dict() for kind in params.kinds})
