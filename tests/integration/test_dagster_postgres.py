"""docker/dagster.yaml on a real PostgreSQL server: runs, events and partitions land in Postgres."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import boto3
import dagster as dg
import psycopg2
import pytest

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.registry import read_current
from recsys_algo.store.storage import open_storage
from recsys_pipelines.definitions import DAILY_JOB, build_definitions
from recsys_pipelines.defs.resources import PipelineSettings, SigningResource, StorageResource
from recsys_pipelines.runner import register_scope, run_day
from tests.integration.conftest import BUCKET
from tests.integration.postgres import PostgresServer
from tests.integration.seaweed import SeaweedServer
from tests.pipelines.conftest import DAY0, KEY_SPEC, SMALL_DATA_PARAMS, catalog_rows, event_lines

REPO = Path(__file__).resolve().parents[2]
TENANT, SURFACE = "pgco", "home"


def _query(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_a_materialization_on_the_production_instance_lands_in_postgres_and_s3(
    postgres_server: PostgresServer,
    postgres_dsn: str,
    seaweed_server: SeaweedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "docker" / "dagster.yaml", home / "dagster.yaml")
    logs_prefix = f"dagster-logs-{uuid.uuid4().hex[:8]}"
    for name, value in {
        **postgres_server.env(postgres_dsn.rsplit("/", 1)[1]),
        **seaweed_server.compute_logs_env(BUCKET, logs_prefix),
    }.items():
        monkeypatch.setenv(name, value)
    # A fresh boto3 default session, so the log manager resolves the credentials set above and
    # not whatever an earlier instance in this process resolved.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    storage = open_storage((tmp_path / "store").as_uri())
    write_catalog(storage, TENANT, catalog_rows())
    lines = event_lines(DAY0, 300)
    storage.write_bytes(
        f"raw/{TENANT}/{SURFACE}/{DAY0.isoformat()}/a.jsonl", ("\n".join(lines) + "\n").encode()
    )
    defs = build_definitions(
        StorageResource(url=storage.url),
        SigningResource(key_spec=KEY_SPEC),
        PipelineSettings(model_params=SMALL_DATA_PARAMS),
    )

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        register_scope(instance, TENANT, SURFACE)
        outcome = run_day(
            defs.resolve_job_def(DAILY_JOB), instance, TENANT, SURFACE, DAY0, False, None
        )

    current = read_current(storage, parse_signing_keys(KEY_SPEC), TENANT, SURFACE)
    assert current is not None
    assert current.manifest.manifest_version == outcome.manifest_version
    # What Dagster recorded is in the server's tables, readable by any other process.
    runs = _query(postgres_dsn, "SELECT status FROM runs")
    assert [status for (status,) in runs] == ["SUCCESS"]
    materialized = {
        key
        for (key,) in _query(
            postgres_dsn,
            "SELECT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
        )
    }
    assert '["manifest"]' in materialized and '["canonical_events"]' in materialized
    partitions = _query(postgres_dsn, "SELECT partition FROM dynamic_partitions")
    assert partitions == [(f"{TENANT}.{SURFACE}",)]
    # Step logs went to the object store through dagster-aws: one stderr file per step (the
    # empty stdout files are skipped), holding what each step logged.
    # Uploads finish as the step's log capture closes: give them (and the listing) a bounded
    # while before judging. (The empty listing seen in full runs was the cached fake keys above.)
    client = seaweed_server.client()
    deadline = time.monotonic() + 30
    while True:
        logs = {
            o.object_name: client.get_object(BUCKET, o.object_name).read()
            for o in client.list_objects(BUCKET, prefix=f"{logs_prefix}/", recursive=True)
        }
        stderr = {key: data for key, data in logs.items() if key.endswith(".err")}
        if stderr or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert stderr, sorted(logs)
    assert any(f"serving {outcome.manifest_version}".encode() in data for data in stderr.values())
