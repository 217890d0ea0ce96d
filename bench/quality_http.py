"""bench/quality.py --http: the served blend asked over HTTP, from the real service.

The bench's model (every kind trained on the split's training part with the recipe measured,
tuned or not) is published as one signed manifest into a temporary file:// store, exactly as
the pipeline's publish step writes it (registry.publish: blobs, history, pointer last, the
recipe in the lineage parameters); `python -m recsys_service` (what `recsys serve` execs) serves
it with two workers, and each sampled held-out case is one POST /v1/recommend: sessions send
the prefix (`exclude_seen: false`), users their id and training items (`exclude_seen: true`).
The answers are scored by the same functions as the other rows and compared list by list with
the in-process model asked the same query.

A request carries at most MAX_SESSION_ITEMS session items and MAX_EXCLUDE_ITEMS excluded ones
(the API's bounds): a history longer than the session bound is sent as its latest items, the
earlier ones as exclude_items, and the in-process comparison asks that same query.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench_store import SURFACE, TENANT, BenchStore, signing_keys
from harness import API_KEY, serve

from recsys_algo.contracts.errors import ValidationGateError
from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.evaluation.sessions import SessionCases
from recsys_algo.evaluation.split import Holdout
from recsys_algo.kinds.registry import SPECS, Inputs, compute_kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.serving.recommender import Query, ScopeModel
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage

MAX_SESSION_ITEMS, MAX_EXCLUDE_ITEMS = 200, 1000  # recsys_service.schemas' request bounds
WORKERS = 2


@dataclass(frozen=True)
class HttpRun:
    """The sampled cases, the HTTP answers and the in-process answers to the same queries."""

    target: Holdout | SessionCases  # the sampled cases only
    over_http: list[list[str]]
    in_process: list[list[str]]
    truncated: int  # histories sent as their latest items plus exclude_items
    skipped: int  # histories past both bounds: not asked

    @property
    def identical(self) -> int:
        return sum(a == b for a, b in zip(self.over_http, self.in_process, strict=True))


def sample(count: int, limit: int, seed: int) -> list[int]:
    """At most `limit` of range(count), chosen with the seed, in their original order."""
    if count <= limit:
        return list(range(count))
    return sorted(random.Random(seed).sample(range(count), limit))


def subset(target: Holdout | SessionCases, chosen: Sequence[int]) -> Holdout | SessionCases:
    if isinstance(target, Holdout):
        return Holdout(
            [target.users[i] for i in chosen],
            [target.histories[i] for i in chosen],
            [target.truth[i] for i in chosen],
            [target.next_item[i] for i in chosen],
        )
    prefixes = [target.prefixes[i] for i in chosen]
    session_of = [target.session_of[i] for i in chosen]
    return SessionCases(
        len(set(session_of)), prefixes, [target.targets[i] for i in chosen], session_of
    )


def request_of(k: int, user: str | None, items: tuple[str, ...], users: bool) -> dict[str, Any]:
    """The request body for one case (users: their history, excluded; sessions: the prefix)."""
    body: dict[str, Any] = {"surface": SURFACE, "k": k, "exclude_seen": users}
    recent, earlier = items[-MAX_SESSION_ITEMS:], items[:-MAX_SESSION_ITEMS]
    if user is not None:
        body["user_id"] = user
    if recent:
        body["session_items"] = list(recent)
    if earlier:
        body["exclude_items"] = list(earlier)
    return body


def query_of(body: dict[str, Any]) -> Query:
    """What the service asks the model for this body (recsys_service.controllers.recommend)."""
    items = tuple(body.get("session_items", ()))
    excluded = set(body.get("exclude_items", ()))
    if body["exclude_seen"]:
        excluded.update(items)
    return Query(
        k=body["k"], user_id=body.get("user_id"), session_items=items, exclude=frozenset(excluded)
    )


def publish(root: Path, inputs: Inputs, params: ModelParams, day: dt.date) -> BenchStore:
    """Every kind as the artifact step builds it (left out when its data fall short), published
    as one signed manifest with the recipe in its lineage."""
    storage = FileStorage(root)
    blobs = []
    for kind in SPECS:
        try:
            blob = compute_kind(kind, inputs, params.of(kind))
        except ValidationGateError:
            continue
        if blob.rows:
            blobs.append(blob)
    window = Window(start=day.isoformat(), end=day.isoformat(), days=1)
    lineage = Lineage(inputs={}, code_version="bench-quality", parameters=params.as_dict())
    outcome = registry.publish(
        storage, signing_keys(), tenant=TENANT, surface=SURFACE, as_of=day, window=window,
        blobs=blobs, lineage=lineage, metrics={},
    )  # fmt: skip
    if not outcome.swapped:
        raise SystemExit(f"the bench manifest was not published: {outcome.message}")
    return BenchStore(root, root / "users.txt", 0, 0)


def ask_over_http(
    target: Holdout | SessionCases,
    asked: Sequence[tuple[tuple[str, ...], frozenset[str]]],
    inputs: Inputs,
    params: ModelParams,
    served: ScopeModel,
    k: int,
    max_queries: int,
    seed: int,
) -> HttpRun:
    """Publish, start the service, POST each sampled case, stop the service."""
    users = isinstance(target, Holdout)
    chosen, bodies, truncated, skipped = [], [], 0, 0
    for i in sample(len(asked), max_queries, seed):
        items = asked[i][0]
        if len(items) > MAX_SESSION_ITEMS + MAX_EXCLUDE_ITEMS:
            skipped += 1
            continue
        truncated += len(items) > MAX_SESSION_ITEMS
        chosen.append(i)
        user = target.users[i] if isinstance(target, Holdout) else None
        bodies.append(request_of(k, user, items, users))
    local = [[r.item_id for r in served.recommend(query_of(b), params.blend)] for b in bodies]
    day = inputs.as_of_end.date()
    over_http = []
    with tempfile.TemporaryDirectory(prefix="recsys-quality-http-") as tmp:
        store = publish(Path(tmp) / "store", inputs, params, day)
        with serve(store, WORKERS) as server, httpx.Client(base_url=server.base) as client:
            for body in bodies:
                response = client.post(
                    "/v1/recommend", json=body, headers={"X-API-Key": API_KEY}, timeout=30
                )
                if response.status_code != 200:
                    raise SystemExit(f"POST /v1/recommend {response.status_code}: {response.text}")
                over_http.append([item["item_id"] for item in response.json()["items"]])
    return HttpRun(subset(target, chosen), over_http, local, truncated, skipped)
