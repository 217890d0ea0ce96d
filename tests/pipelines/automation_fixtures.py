"""A persistent (temp-dir) Dagster instance with file:// storage, for schedule and sensor tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.storage import open_storage
from recsys_pipelines.defs.automation import clock
from recsys_pipelines.defs.partitions import SCOPES_PARTITION
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource
from recsys_pipelines.runner import register_scope
from tests.pipelines.conftest import (
    KEY_SPEC,
    SMALL_DATA_PARAMS,
    SURFACE,
    TENANT,
    Env,
    catalog_rows,
)

SCOPE = f"{TENANT}.{SURFACE}"


@pytest.fixture(scope="module")
def shared_instance() -> Iterator[dg.DagsterInstance]:
    """One instance per module (creating one costs seconds); on disk, as schedule contexts need."""
    with dg.instance_for_test(set_dagster_home=False) as instance:
        yield instance


@pytest.fixture
def auto_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_instance: dg.DagsterInstance
) -> Env:
    """Like conftest's env, with only acme.home registered and a fresh file:// store."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for key in shared_instance.get_dynamic_partitions(SCOPES_PARTITION):
        shared_instance.delete_dynamic_partition(SCOPES_PARTITION, key)
    register_scope(shared_instance, TENANT, SURFACE)
    storage = open_storage((tmp_path / "store").as_uri())
    write_catalog(storage, TENANT, catalog_rows())
    return Env(
        storage,
        parse_signing_keys(KEY_SPEC),
        shared_instance,
        PipelineSettings(model_params=SMALL_DATA_PARAMS),
    )


def set_clock(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """Every automation module reads the time through clock.utc_now."""
    monkeypatch.setattr(clock, "utc_now", lambda: moment)


def storage_resource(env: Env) -> StorageResource:
    return StorageResource(url=env.storage.url)
