"""A day's run writes the same bytes through the fast paths as through the code they replaced.

The fast paths (issue 18): landing lines decoded in bulk (event_scan), the canonical day
sorted and deduplicated from its key columns and gathered a column at a time, the window
decoded once per run and handed from step to step (stages/model_inputs), TF-IDF without
scikit-learn (kinds/content_sim/tfidf), the catalog and content_sim kept from one day to the
next while the catalog is the same (stages/model_inputs, kinds/content_sim/similarity), the
evaluation's queries ranked per kind in batches (serving/batched). The reference run puts back
the per-line parser and the whole-frame sort (the oracles kept in
tests/support/event_oracle.py), a fresh window and catalog read at every step, scikit-learn's
TF-IDF and one query at a time through ScopeModel.candidates, and runs the same stage
functions the Dagster assets call, in the same order, on its own copy of the landing files.
Every staged file (staged rows, quarantine, canonical day, each kind's artifact and metadata,
the evaluation report) must be byte-identical; the reference is computed here, never
recorded, so no file derived from the shared data sets is kept.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from recsys_algo.contracts.names import Partition
from recsys_algo.evaluation import evaluate as evaluation_module
from recsys_algo.kinds.content_sim import tfidf
from recsys_algo.kinds.content_sim.similarity import forget_content_sim
from recsys_algo.kinds.kind import KINDS
from recsys_algo.recipes.params import ModelParams
from recsys_algo.serving.ranking import Ranked
from recsys_algo.serving.recommender import BlendParams, Query, ScopeModel
from recsys_algo.sources.diginetica.importer import import_diginetica
from recsys_algo.sources.movielens.importer import import_movielens
from recsys_algo.sources.synthetic.generator import generate_catalog, generate_day
from recsys_algo.stages import artifacts, evaluate, ingest, model_inputs
from recsys_algo.stages.artifacts import build_artifact
from recsys_algo.stages.evaluate import evaluate_partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.store import landing
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import FileStorage, Storage
from tests.support import reference_tfidf
from tests.support.event_oracle import ReferenceLineParser, reference_canonicalize_parquet
from tests.support.shared_data import DIGINETICA, ML_100K, ML_LATEST_SMALL, shared_data

TENANT, SURFACE = "t", "home"
WINDOW_DAYS = 14


def _uncached_read(
    storage: Storage, p: Partition, window_days: int, params: ModelParams
) -> model_inputs.ModelInputs:
    model_inputs.forget_model_inputs()
    return model_inputs.read_model_inputs(storage, p, window_days, params)


def _one_query_at_a_time(
    model: ScopeModel, queries: Sequence[Query], params: BlendParams
) -> list[dict[str, Ranked]]:
    return [model.candidates(query, params) for query in queries]


def _run(storage: Storage, last: dt.date, days: int) -> dict[str, bytes]:
    """Ingest and canonicalize every day of the window, then every kind and the evaluation
    over the last one, as a daily run does; every file the run wrote, by key."""
    model_inputs.forget_model_inputs()
    forget_content_sim()  # the reference path computes its own, with its own TF-IDF
    for back in reversed(range(days)):
        p = Partition(TENANT, SURFACE, last - dt.timedelta(days=back))
        if landing.read_landing_files(storage, TENANT, SURFACE, p.day):
            ingest_partition(storage, p)
            canonicalize_partition(storage, p)
    p = Partition(TENANT, SURFACE, last)
    for kind in KINDS:
        build_artifact(storage, p, kind, ModelParams(), days)
    evaluate_partition(storage, p, ModelParams(), days)
    model_inputs.forget_model_inputs()
    written = {}
    for prefix in ("staging/", "canonical/", "quarantine/"):
        for key in storage.list(prefix):
            written[key] = storage.read_bytes(key)
    return written


def _assert_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fill: Callable[[Storage], dt.date]
) -> dict[str, bytes]:
    last = fill(FileStorage(tmp_path / "fast"))
    shutil.copytree(tmp_path / "fast", tmp_path / "ref")  # the same landing files and catalog
    fast_store, reference_store = FileStorage(tmp_path / "fast"), FileStorage(tmp_path / "ref")
    fast = _run(fast_store, last, WINDOW_DAYS)
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "LineParser", ReferenceLineParser)
        patch.setattr(ingest, "canonicalize_parquet", reference_canonicalize_parquet)
        patch.setattr(artifacts, "read_model_inputs", _uncached_read)
        patch.setattr(evaluate, "read_model_inputs", _uncached_read)
        patch.setattr(tfidf, "tag_rows", reference_tfidf.tag_rows)
        patch.setattr(tfidf, "title_rows", reference_tfidf.title_rows)
        patch.setattr(evaluation_module, "candidates_many", _one_query_at_a_time)
        reference = _run(reference_store, last, WINDOW_DAYS)
    assert sorted(fast) == sorted(reference)
    assert [k for k in fast if fast[k] != reference[k]] == []
    staged = {key.rsplit("/", 1)[-1] for key in fast if key.startswith("staging/")}
    # Every kind ran: a table where the data supports it, its metadata (or the reason it was
    # left out) always; the identity above covers both.
    assert staged >= {f"{kind}.json" for kind in KINDS}
    assert len({f"{kind}.arrow" for kind in KINDS} & staged) >= len(KINDS) - 1
    return fast


def test_synthetic_demo_days_are_byte_identical_through_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = dt.date(2026, 11, 1)

    def fill(storage: Storage) -> dt.date:
        write_catalog(storage, TENANT, generate_catalog(7))
        for offset in range(3):  # the demo's generator and knobs, three of its fourteen days
            day = first + dt.timedelta(days=offset)
            data = generate_day(7, day, TENANT, SURFACE, events_per_day=20_000)
            landing.write_landing_file(storage, TENANT, SURFACE, day, "synthetic.jsonl", data)
        return first + dt.timedelta(days=2)

    written = _assert_same_bytes(tmp_path, monkeypatch, fill)
    assert any(key.startswith("quarantine/") for key in written)  # bad lines went both ways


@pytest.mark.parametrize("name", [ML_LATEST_SMALL, ML_100K, DIGINETICA])
def test_shared_data_sets_are_byte_identical_through_both_paths(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shared_data(name)

    def fill(storage: Storage) -> dt.date:
        if name == DIGINETICA:  # views without item metadata: an empty catalog
            write_catalog(storage, TENANT, [])
            return import_diginetica(folder, storage, TENANT, SURFACE).last_day
        return import_movielens(folder, storage, TENANT, SURFACE).last_day

    _assert_same_bytes(tmp_path, monkeypatch, fill)
