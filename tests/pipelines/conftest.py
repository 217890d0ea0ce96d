"""Fixtures for running the real code location in-process on a temporary file:// storage."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from recsys_algo.contracts.signing import SigningKeys, parse_signing_keys
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import FileStorage, Storage, open_storage
from recsys_pipelines.definitions import DAILY_JOB, build_definitions
from recsys_pipelines.defs.resources import PipelineSettings, SigningResource, StorageResource
from recsys_pipelines.runner import DayOutcome, register_scope, run_day

KEY_SPEC = "test-1:" + "11" * 32
TENANT, SURFACE = "acme", "home"
DAY0 = dt.date(2026, 11, 1)


def event_lines(day: dt.date, n: int, *, offset: int = 0) -> list[str]:
    """n valid events a minute apart: runs of 3 by one user (a session), skewed items."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    lines = []
    for i in range(n):
        ts = start + dt.timedelta(seconds=(i * 60) % 86_400)
        lines.append(
            json.dumps(
                {
                    "ts": ts.isoformat().replace("+00:00", "Z"),
                    "item_id": f"item-{(i * i + offset) % 17}",
                    "user_id": f"user-{(i // 3) % 11}",
                    "event_type": ("click", "purchase", "add_to_cart")[i % 3],
                }
            )
        )
    return lines


# Tiny data: pairs seen once count, few factors, a handful of held-out users is enough.
SMALL_DATA_PARAMS = (
    '{"cooc": {"min_support": 1}, "implicit": {"factors": 8, "iterations": 5}, '
    '"evaluation": {"min_users": 2}}'
)


def catalog_rows(items: int = 20) -> list[dict[str, object]]:
    """Items item-0.. with two tags each; neighbouring ids share a tag (content_sim has pairs)."""
    return [
        {
            "item_id": f"item-{i}",
            "tags": [f"genre-{i % 4}", f"style-{i // 3}"],
            "title": f"Item {i}",
        }
        for i in range(items)
    ]


@dataclass
class Env:
    storage: Storage
    keys: SigningKeys
    instance: dg.DagsterInstance
    settings: PipelineSettings

    def write_day(self, day: dt.date, lines: list[str], name: str = "events.jsonl") -> None:
        key = f"raw/{TENANT}/{SURFACE}/{day.isoformat()}/{name}"
        self.storage.write_bytes(key, ("\n".join(lines) + "\n").encode())

    def definitions(self) -> dg.Definitions:
        return build_definitions(
            StorageResource(url=self.storage.url),
            SigningResource(key_spec=KEY_SPEC),
            self.settings,
        )

    def run(
        self, day: dt.date, allow_rewind: bool = False, override_reason: str | None = None
    ) -> DayOutcome:
        job = self.definitions().resolve_job_def(DAILY_JOB)
        return run_day(job, self.instance, TENANT, SURFACE, day, allow_rewind, override_reason)


def new_env(storage: Storage, instance: dg.DagsterInstance) -> Env:
    """An Env over `storage` (the test catalog written) with the scope registered."""
    write_catalog(storage, TENANT, catalog_rows())
    register_scope(instance, TENANT, SURFACE)
    return Env(
        storage,
        parse_signing_keys(KEY_SPEC),
        instance,
        PipelineSettings(model_params=SMALL_DATA_PARAMS),
    )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with dg.DagsterInstance.ephemeral() as instance:
        yield new_env(open_storage((tmp_path / "store").as_uri()), instance)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    """A file:// storage with the test catalog, and the environment the CLI reads pointing
    at it (keys, small-data parameters, no DAGSTER_HOME)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    url = (tmp_path / "store").as_uri()
    monkeypatch.setenv("RECSYS_STORAGE_URL", url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", KEY_SPEC)
    monkeypatch.setenv("RECSYS_MODEL_PARAMS", SMALL_DATA_PARAMS)
    storage = open_storage(url)
    assert isinstance(storage, FileStorage)
    write_catalog(storage, TENANT, catalog_rows())
    return storage
