"""DB-only mode end to end: the pipeline writes signals to PostgreSQL, the service serves them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from recsys_algo.contracts.errors import ConfigError, DataSourceError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.kinds.kind import KINDS, SIGNALS_DB_KINDS
from recsys_algo.serving.recommender import DEFAULT_BLEND_WEIGHTS
from recsys_algo.store import signals as signals_db
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.pg import SIGNALS_DSN_ENV
from recsys_algo.store.registry import read_current
from recsys_algo.store.storage import FileStorage, Storage, open_storage
from recsys_pipelines.definitions import DAILY_JOB, build_definitions
from recsys_pipelines.defs.resources import (
    PipelineSettings,
    SigningResource,
    StorageResource,
    resources_from_env,
)
from recsys_pipelines.runner import DayOutcome, register_scope, run_day
from recsys_service.app import create_app
from recsys_service.process_loader import ProcessLoader
from recsys_service.settings import Settings
from tests.integration.postgres import PostgresServer
from tests.pipelines.conftest import DAY0, KEY_SPEC, SMALL_DATA_PARAMS, catalog_rows, event_lines
from tests.service.builders import item_ids, make_settings, publish_scope
from tests.service.conftest import serving_of

TENANT, SURFACE = "demo", "home"  # open mode (no API keys) serves tenant demo
KEYS = parse_signing_keys(KEY_SPEC)
# Kinds the database does not hold (implicit's factors, the session and item models); with
# their blend weights 0 every answer depends only on kinds both modes hold, so the two modes
# must answer every request identically.
NOT_IN_DB = {kind.value: 0.0 for kind in KINDS if kind not in SIGNALS_DB_KINDS}
PARAMS = json.dumps(
    {
        **json.loads(SMALL_DATA_PARAMS),
        "blend": {"weights": {**DEFAULT_BLEND_WEIGHTS, **NOT_IN_DB}},
    }
)
UNREACHABLE_DSN = "postgresql://recsys:pw-not-shown@127.0.0.1:1/signals"


@dataclass(frozen=True)
class Published:
    storage: Storage
    dsn: str
    failed: DataSourceError  # the first run, whose database was unreachable
    served_after_failure: str  # what the object store served after that run
    outcome: DayOutcome  # the rerun with a reachable database


def _run(storage: Storage, dsn: str) -> DayOutcome:
    defs = build_definitions(
        StorageResource(url=storage.url),
        SigningResource(key_spec=KEY_SPEC),
        PipelineSettings(model_params=PARAMS, signals_dsn=dsn),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        register_scope(instance, TENANT, SURFACE)
        return run_day(defs.resolve_job_def(DAILY_JOB), instance, TENANT, SURFACE, DAY0)


@pytest.fixture(scope="module")
def published(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Published]:
    """One day published twice: first with the database down (fails), then converging."""
    dsn = postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
    storage = open_storage(tmp_path_factory.mktemp("signals-store").as_uri())
    write_catalog(storage, TENANT, catalog_rows())
    lines = event_lines(DAY0, 300)
    storage.write_bytes(
        f"raw/{TENANT}/{SURFACE}/{DAY0.isoformat()}/a.jsonl", ("\n".join(lines) + "\n").encode()
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)
        patch.delenv(SIGNALS_DSN_ENV, raising=False)
        with pytest.raises(DataSourceError) as caught:
            _run(storage, UNREACHABLE_DSN)
        current = read_current(storage, KEYS, TENANT, SURFACE)
        assert current is not None
        outcome = _run(storage, dsn)
    yield Published(storage, dsn, caught.value, current.manifest.manifest_version, outcome)


def _rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_a_failed_database_write_fails_the_run_and_a_rerun_converges(published: Published) -> None:
    # The object store moved first (the manifest is the source of truth) ...
    assert published.served_after_failure
    assert "127.0.0.1:1/signals" in str(published.failed)
    assert "pw-not-shown" not in str(published.failed)
    # ... and the rerun published again and mirrored that newer manifest into the database.
    assert published.outcome.serving
    assert published.outcome.manifest_version > published.served_after_failure
    current = _rows(published.dsn, "SELECT tenant, surface, version FROM recsys_signal_current")
    assert current == [(TENANT, SURFACE, published.outcome.manifest_version)]


def test_the_published_day_is_in_the_signal_tables_row_for_row(published: Published) -> None:
    found = read_current(published.storage, KEYS, TENANT, SURFACE)
    assert found is not None
    manifest = found.manifest
    assert manifest.manifest_version == published.outcome.manifest_version
    counts = dict(
        _rows(published.dsn, "SELECT kind, count(*) FROM recsys_neighbors GROUP BY kind")
        + _rows(published.dsn, "SELECT 'popularity', count(*) FROM recsys_popularity")
    )
    expected = {k: manifest.artifacts[k].rows for k in signals_db.DB_KINDS}
    assert counts == expected
    assert all(n > 0 for n in expected.values())
    assert "implicit" in manifest.artifacts and "implicit" not in counts


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/recommend", {"surface": SURFACE, "k": 10}),
    ("POST", "/v1/recommend", {"surface": SURFACE, "k": 10, "session_items": ["item-1"]}),
    (
        "POST",
        "/v1/recommend",
        {
            "surface": SURFACE,
            "k": 12,
            "session_items": ["item-4", "item-0", "item-9", "item-1"],
            "exclude_items": ["item-0"],
            "explain": True,
        },
    ),
    *[
        ("POST", "/v1/similar", {"surface": SURFACE, "item_id": item, "kind": kind, "k": 8})
        for item in ("item-1", "item-4", "item-16")
        for kind in ("cooc", "content", "session", "blend")
    ],
    ("GET", f"/v1/popular?surface={SURFACE}&k=15", {}),
]


def _answers(client: TestClient[Litestar]) -> list[tuple[int, Any]]:
    answers = []
    for method, url, body in REQUESTS:
        response = client.post(url, json=body) if method == "POST" else client.get(url)
        payload = response.json()
        payload.pop("request_id", None)
        answers.append((response.status_code, payload))
    return answers


def _kinds(client: TestClient[Litestar]) -> tuple[str, ...]:
    entry = serving_of(client).get(TENANT, SURFACE)
    assert entry is not None and entry.loaded is not None, entry
    return entry.loaded.model.kinds


def test_storage_and_postgres_modes_answer_every_request_identically(
    published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStorage(Path(published.storage.url.removeprefix("file://")))
    empty = FileStorage(tmp_path / "empty")  # the DB-mode service never reads the store
    db_settings = make_settings(
        empty, signing_keys=KEYS, serving_source="postgres", signals_dsn=published.dsn
    )
    with TestClient(create_app(make_settings(store, signing_keys=KEYS))) as client:
        from_storage = _answers(client)
        storage_kinds = _kinds(client)
    with TestClient(create_app(db_settings)) as client:
        from_db = _answers(client)
        db_kinds = _kinds(client)
    # The same through the process loader (a child verifies and builds, the app maps): DB mode
    # and storage mode share one prepared directory, yet never each other's model.
    prepared = {"loader": "process", "prepared_dir": tmp_path / "prep"}
    for settings in (
        replace(db_settings, **prepared),
        make_settings(store, signing_keys=KEYS, **prepared),
    ):
        with TestClient(create_app(settings)) as client:
            mapped = _answers(client)
            kinds = _kinds(client)
        assert kinds == (db_kinds if settings.serving_source == "postgres" else storage_kinds)
        assert mapped == (from_db if settings.serving_source == "postgres" else from_storage)
    assert len(list((tmp_path / "prep").glob("*.prep"))) == 2

    # Another worker (or a restart) in DB mode maps the prepared model: the manifest row is
    # verified, the rows are not read again and no child runs.
    def no_child(*args: object) -> None:
        raise AssertionError("the model is prepared: nothing to build")

    monkeypatch.setattr(ProcessLoader, "_prepare", no_child)
    with TestClient(create_app(replace(db_settings, **prepared))) as client:
        assert _answers(client) == from_db

    assert from_db == from_storage
    assert all(status == 200 for status, _ in from_db)
    assert all(
        body["manifest_version"] == published.outcome.manifest_version for _, body in from_db
    )
    # The comparison has substance: session answers, neighbours of every kind, explanations.
    sources = {item["source"] for _, body in from_db for item in body["items"]}
    assert {"cooc", "content_sim", "session_seq", "popularity"} <= sources
    assert storage_kinds == tuple(kind.value for kind in KINDS)
    assert db_kinds == tuple(kind.value for kind in SIGNALS_DB_KINDS)


def _write(storage: FileStorage, dsn: str, manifest: Manifest) -> None:
    blobs = {kind: storage.read_bytes(ref.uri) for kind, ref in manifest.artifacts.items()}
    assert signals_db.write_signals(dsn, manifest, blobs).swapped


def test_postgres_mode_hot_swaps_and_keeps_the_last_good_version(
    postgres_dsn: str, tmp_path: Path
) -> None:
    storage = FileStorage(tmp_path / "store")
    t0 = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
    first = publish_scope(storage, TENANT, SURFACE, item_ids("a-", 30), keys=KEYS, now=t0)
    _write(storage, postgres_dsn, first)
    settings = make_settings(
        storage, signing_keys=KEYS, serving_source="postgres", signals_dsn=postgres_dsn
    )
    with TestClient(create_app(settings)) as client:
        serving = serving_of(client)
        popular = client.get(f"/v1/popular?surface={SURFACE}&k=3").json()
        assert [i["item_id"] for i in popular["items"]] == ["a-000", "a-001", "a-002"]

        second = publish_scope(
            storage, TENANT, SURFACE, item_ids("b-", 30), keys=KEYS, now=t0 + dt.timedelta(hours=1)
        )
        _write(storage, postgres_dsn, second)
        serving.refresh()
        popular = client.get(f"/v1/popular?surface={SURFACE}&k=3").json()
        assert popular["manifest_version"] == second.manifest_version
        assert popular["items"][0]["item_id"] == "b-000"

        third = publish_scope(
            storage, TENANT, SURFACE, item_ids("c-", 30), keys=KEYS, now=t0 + dt.timedelta(hours=2)
        )
        _write(storage, postgres_dsn, third)
        with psycopg2.connect(postgres_dsn) as conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE recsys_popularity SET item_id = 'injected' WHERE version = %s "
                "AND ordinal = 0",
                (third.manifest_version,),
            )
        serving.refresh()
        entry = serving.get(TENANT, SURFACE)
        assert entry is not None and entry.loaded is not None
        assert entry.loaded.manifest.manifest_version == second.manifest_version
        assert entry.last_error is not None and "re-encode" in entry.last_error
        popular = client.get(f"/v1/popular?surface={SURFACE}&k=3").json()
        assert popular["items"][0]["item_id"] == "b-000"


def test_settings_read_the_serving_source_and_reject_bad_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn = "postgresql://recsys:hunter2@db:5432/recsys"
    monkeypatch.setenv("RECSYS_SERVING_SOURCE", "postgres")
    monkeypatch.setenv(SIGNALS_DSN_ENV, dsn)
    settings = Settings.from_env()
    assert (settings.serving_source, settings.signals_dsn) == ("postgres", dsn)
    assert "hunter2" not in repr(settings)
    from_env = resources_from_env().settings.signals_dsn
    assert isinstance(from_env, dg.EnvVar) and from_env.env_var_name == SIGNALS_DSN_ENV

    monkeypatch.delenv(SIGNALS_DSN_ENV)
    with pytest.raises(ConfigError, match="RECSYS_SERVING_SOURCE=postgres needs RECSYS_SIGNALS"):
        Settings.from_env()
    monkeypatch.setenv("RECSYS_SERVING_SOURCE", "mysql")
    with pytest.raises(ConfigError, match="RECSYS_SERVING_SOURCE='mysql' is invalid"):
        Settings.from_env()
    monkeypatch.setenv("RECSYS_SERVING_SOURCE", "postgres")
    monkeypatch.setenv(SIGNALS_DSN_ENV, "host=db password='hunter2")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env()
    assert "hunter2" not in str(caught.value)
    monkeypatch.delenv("RECSYS_SERVING_SOURCE")
    assert Settings.from_env().serving_source == "storage"
