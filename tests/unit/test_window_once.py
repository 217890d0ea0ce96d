"""The window is decoded once per run and handed from step to step (stages/model_inputs), and
never handed out once what it was read from has changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys_algo.contracts.names import Partition
from recsys_algo.kinds.kind import KINDS, Kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.sources.synthetic.generator import generate_catalog, generate_day
from recsys_algo.stages import model_inputs, window
from recsys_algo.stages.artifacts import build_artifact
from recsys_algo.stages.evaluate import evaluate_partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.store import landing
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import FileStorage, Storage

TENANT, SURFACE = "t", "home"
DAY = dt.date(2026, 11, 2)
P = Partition(TENANT, SURFACE, DAY)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = FileStorage(tmp_path)
    write_catalog(store, TENANT, generate_catalog(7, 200, 5))
    for day in (DAY - dt.timedelta(days=1), DAY):
        _land(store, day, 3_000, seed=7)
    model_inputs.forget_model_inputs()
    yield store
    model_inputs.forget_model_inputs()


def _land(storage: Storage, day: dt.date, events: int, seed: int) -> None:
    data = generate_day(seed, day, TENANT, SURFACE, events_per_day=events, n_items=200)
    landing.write_landing_file(storage, TENANT, SURFACE, day, "synthetic.jsonl", data)
    ingest_partition(storage, Partition(TENANT, SURFACE, day))
    canonicalize_partition(storage, Partition(TENANT, SURFACE, day))


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[Partition]:
    calls: list[Partition] = []
    real = window.read_window

    def counted(storage: Storage, p: Partition, *args: object) -> window.EventWindow:
        calls.append(p)
        return real(storage, p, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(model_inputs, "read_window", counted)
    return calls


def test_every_kind_and_the_evaluation_share_one_decoded_window(
    storage: Storage, decodes: list[Partition]
) -> None:
    reports = [build_artifact(storage, P, kind, ModelParams(), 2) for kind in KINDS]
    evaluate_partition(storage, P, ModelParams(), 2)
    assert decodes == [P]
    rows = [
        window.parquet_rows(data)
        for day in (DAY - dt.timedelta(days=1), DAY)
        if (data := window.read_canonical(storage, TENANT, SURFACE, day)) is not None
    ]
    assert len(rows) == 2
    assert [r.window_events for r in reports] == [sum(rows)] * len(KINDS)


def test_a_day_rewritten_between_steps_is_read_afresh(
    storage: Storage, decodes: list[Partition]
) -> None:
    before = build_artifact(storage, P, Kind.POPULARITY, ModelParams(), 2)
    _land(storage, DAY, 4_000, seed=8)  # the day re-ingested with other events mid-run
    after = build_artifact(storage, P, Kind.POPULARITY, ModelParams(), 2)
    assert decodes == [P, P]
    assert after.window_events != before.window_events
    assert after.blob.sha256 != before.blob.sha256


def test_another_partition_or_window_length_replaces_the_held_window(
    storage: Storage, decodes: list[Partition]
) -> None:
    yesterday = Partition(TENANT, SURFACE, DAY - dt.timedelta(days=1))
    build_artifact(storage, P, Kind.POPULARITY, ModelParams(), 2)
    one_day = build_artifact(storage, P, Kind.POPULARITY, ModelParams(), 1)
    build_artifact(storage, yesterday, Kind.POPULARITY, ModelParams(), 1)
    build_artifact(storage, P, Kind.POPULARITY, ModelParams(), 2)
    assert decodes == [P, P, yesterday, P]
    assert one_day.window_days_present == 1


def test_the_next_day_reuses_the_decoded_catalog_until_it_is_rewritten(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range's days read one catalog: decoded once, and afresh once its bytes change."""
    from recsys_algo.contracts.catalog import decode_catalog

    decoded: list[str] = []

    def counted(data: bytes, where: str) -> object:
        decoded.append(where)
        return decode_catalog(data, where)

    monkeypatch.setattr(model_inputs, "decode_catalog", counted)
    yesterday = Partition(TENANT, SURFACE, DAY - dt.timedelta(days=1))
    first = model_inputs.read_model_inputs(storage, yesterday, 2, ModelParams())
    second = model_inputs.read_model_inputs(storage, P, 2, ModelParams())
    assert len(decoded) == 1 and second.inputs.catalog.equals(first.inputs.catalog)
    write_catalog(storage, TENANT, generate_catalog(8, 200, 5))
    model_inputs.forget_model_inputs()  # the window too, so only the catalog can differ
    third = model_inputs.read_model_inputs(storage, P, 2, ModelParams())
    assert len(decoded) == 2 and not third.inputs.catalog.equals(first.inputs.catalog)
    write_catalog(storage, TENANT, generate_catalog(7, 200, 5))
    fourth = model_inputs.read_model_inputs(storage, P, 2, ModelParams())  # window kept
    assert len(decoded) == 3 and fourth.inputs.catalog.equals(first.inputs.catalog)
