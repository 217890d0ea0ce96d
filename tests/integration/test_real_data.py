"""The three public data sets end to end through the product's own contracts: `recsys import`,
`recsys materialize` over the log's last days, then the real service over HTTP answering a
known user and a session with the kinds each data set supports.

Every day of each log is materialized by `bench/real_data.py` (minutes to hours: a benchmark,
recorded in docs/data.md); here the last LAST_DAYS days of each, which exercise the same gates,
subsets and serving. The smallest of them (ON_S3) runs once more with everything on s3:// (the
suite's SeaweedFS), the import, the runs and the service alike. Skipped, saying where it looked,
when ../shared/data is absent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pyarrow.compute as pc
import pytest

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.kinds.kind import FACTORS, KINDS, NEIGHBOR_KINDS, POPULARITY, Kind
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage, Storage, open_storage
from tests.integration.conftest import BUCKET
from tests.integration.seaweed import SeaweedServer
from tests.service.builders import sha256_hex
from tests.support.service_process import running_service
from tests.support.shared_data import (
    DIGINETICA,
    ML_100K,
    ML_LATEST_SMALL,
    shared_data,
    shared_data_root,
)

KEY_SPEC = "real-1:" + "5a" * 32
ADMIN_KEY = "real-data-admin-key"
LAST_DAYS = 8
SURFACE = "home"
DAY_LINE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}  (published |held by gate: |skipped: )")
# data set -> (tenant, import subcommand)
DATASETS = {
    ML_LATEST_SMALL: ("mlsmall", "movielens"),
    ML_100K: ("ml100k", "movielens"),
    DIGINETICA: ("diginetica", "diginetica"),
}
# The smallest set whose last days serve more than popularity (session kinds, factors), run
# again with the storage on the suite's SeaweedFS (S3) instead of file://.
ON_S3 = DIGINETICA


@dataclass
class Imported:
    tenant: str
    import_output: str
    exit_code: int  # of materialize over the last days
    output: str
    days: list[str]  # the days materialized


def _last_day(storage: Storage, tenant: str) -> dt.date:
    days = {key.split("/")[3] for key in storage.list(f"raw/{tenant}/{SURFACE}")}
    return dt.date.fromisoformat(max(days))


def _import_and_materialize(
    root: Path, storage: Storage, datasets: dict[str, tuple[str, str]], **env_vars: str
) -> dict[str, Imported]:
    """Each data set imported and its last LAST_DAYS days materialized by the real `recsys`
    program, in a process of its own as a user runs it: RECSYS_FIRST_DAY is read when the code
    location loads, and this session may have loaded it already."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "DAGSTER_"))}
    env.update(
        RECSYS_STORAGE_URL=storage.url,
        RECSYS_SIGNING_KEYS=KEY_SPEC,
        RECSYS_FIRST_DAY="1996-01-01",  # the partitions reach MovieLens's first ratings
        OPENBLAS_NUM_THREADS="1",
        **env_vars,
    )

    def recsys(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "recsys_pipelines.cli", *args]
        return subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, check=False, timeout=1200
        )

    results: dict[str, Imported] = {}
    for name, (tenant, command) in datasets.items():
        path = str(shared_data_root() / name)
        imported = recsys("import", command, path, "--tenant", tenant, "--surface", SURFACE)
        assert imported.returncode == 0, imported.stderr
        last = _last_day(storage, tenant)
        first = last - dt.timedelta(days=LAST_DAYS - 1)
        ran = recsys("materialize", "--tenant", tenant, "--surface", SURFACE,
                     "--start", str(first), "--end", str(last))  # fmt: skip
        days = [str(first + dt.timedelta(days=n)) for n in range(LAST_DAYS)]
        output = ran.stdout + ran.stderr
        results[name] = Imported(tenant, imported.stdout, ran.returncode, output, days)
    return results


@contextlib.contextmanager
def _serving(storage: Storage, root: Path, **env_vars: str) -> Iterator[str]:
    """The real service over this storage; yields its base URL."""
    with running_service(
        storage.url,
        root,
        RECSYS_SIGNING_KEYS=KEY_SPEC,
        RECSYS_API_KEYS=f"ops:*:{sha256_hex(ADMIN_KEY)}",
        RECSYS_PREPARED_DIR=str(root / "prepared"),
        **env_vars,
    ) as service:
        yield service.base


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Storage, dict]]:
    root = tmp_path_factory.mktemp("real")
    storage = FileStorage(root / "store")
    present = {
        name: spec for name, spec in DATASETS.items() if (shared_data_root() / name).is_dir()
    }
    if not present:
        pytest.skip(f"no public data set under {shared_data_root()} (set RECSYS_SHARED_DATA)")
    results = _import_and_materialize(root, storage, present)
    with _serving(storage, root) as base:
        yield storage, {"base": base, "results": results}


@pytest.fixture(scope="module")
def s3_world(
    seaweed_server: SeaweedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Storage, dict]]:
    """ON_S3 in a fresh prefix of the suite's SeaweedFS: import, materialize and serve all on
    s3://, as a deployment does."""
    shared_data(ON_S3)  # skips, saying where it looked, when absent
    root = tmp_path_factory.mktemp("real_s3")
    s3 = seaweed_server.env()
    with pytest.MonkeyPatch.context() as patch:  # what open_storage reads, for this process
        for name, value in s3.items():
            patch.setenv(name, value)
        storage = open_storage(f"s3://{BUCKET}/real-{uuid.uuid4().hex[:12]}")
        results = _import_and_materialize(root, storage, {ON_S3: DATASETS[ON_S3]}, **s3)
        with _serving(storage, root, **s3) as base:
            yield storage, {"base": base, "results": results}


def _headers(tenant: str) -> dict[str, str]:
    return {"X-API-Key": ADMIN_KEY, "X-Tenant": tenant}


def _session_of_last_day(storage: Storage, tenant: str, day: dt.date) -> list[str]:
    """The items of the longest session of the served day's canonical events."""
    data = storage.read_bytes(f"canonical/{tenant}/{SURFACE}/{day}.parquet")
    frame = pl.read_parquet(data).with_columns(pl.coalesce("session_id", "user_id").alias("key"))
    sessions = frame.sort("ts").group_by("key", maintain_order=True).agg(pl.col("item_id"))
    longest = max(sessions["item_id"].to_list(), key=len)
    return list(dict.fromkeys(longest))[:5]


@pytest.mark.parametrize("name", list(DATASETS))
def test_each_public_log_imports_publishes_what_it_supports_and_is_served(
    world: tuple[Storage, dict], name: str
) -> None:
    storage, state = world
    if name not in state["results"]:
        pytest.skip(f"public data set {name} is not at {shared_data_root() / name}")
    _published_what_it_supports_and_served(storage, state["base"], name, state["results"][name])


def test_a_public_log_on_s3_publishes_and_is_served_from_s3(s3_world: tuple[Storage, dict]) -> None:
    storage, state = s3_world
    assert storage.url.startswith("s3://")
    _published_what_it_supports_and_served(storage, state["base"], ON_S3, state["results"][ON_S3])


def _published_what_it_supports_and_served(
    storage: Storage, base: str, name: str, run: Imported
) -> None:
    tenant = run.tenant
    # Every day ran and said what happened; only data conditions (3, 4) may have held some.
    assert run.exit_code in (0, 3, 4), run.output
    assert "Traceback" not in run.output
    # One line per day, in order: published, held by gate, or skipped (no landing files).
    lines = [line for line in run.output.splitlines() if DAY_LINE.match(line)]
    assert [line[:10] for line in lines] == run.days, run.output
    assert any("  published " in line for line in lines), run.output
    current = registry.read_current(storage, parse_signing_keys(KEY_SPEC), tenant, SURFACE)
    assert current is not None
    manifest = current.manifest
    kinds = set(manifest.artifacts)
    omitted = manifest.lineage.omitted_kinds
    assert POPULARITY in kinds and kinds | set(omitted) == set(KINDS)
    if name == DIGINETICA:  # no catalog: content_sim says so, the session kinds serve
        assert omitted[Kind.CONTENT_SIM].startswith("no catalog")
        assert Kind.SESSION_SEQ in kinds
    else:  # MovieLens: genres and user tags make a catalog; users make factors
        assert {Kind.CONTENT_SIM, FACTORS} <= kinds
    with httpx.Client(base_url=base, timeout=30, headers=_headers(tenant)) as client:
        shown = client.get(f"/v1/manifests/{SURFACE}").json()
        assert shown["manifest_version"] == manifest.manifest_version
        assert set(shown["missing_kinds"]) == set(KINDS) - kinds
        day = dt.date.fromisoformat(manifest.as_of)
        session = _session_of_last_day(storage, tenant, day)
        by_session = client.post(
            "/v1/recommend", json={"surface": SURFACE, "k": 10, "session_items": session}
        )
        assert by_session.status_code == 200, by_session.text
        sources = {item["source"] for item in by_session.json()["items"]}
        if kinds & {*NEIGHBOR_KINDS, FACTORS}:
            assert sources - {POPULARITY}, f"{name}: only popularity for session {session}"
        if FACTORS in kinds:
            _, tables = registry.load_verified_tables(
                storage, parse_signing_keys(KEY_SPEC), tenant, SURFACE
            ) or (None, {})
            factors = tables[FACTORS]
            user = str(factors.filter(pc.equal(factors["entity"], "user"))["id"][0])
            by_user = client.post(
                "/v1/recommend", json={"surface": SURFACE, "k": 10, "user_id": user}
            )
            assert by_user.status_code == 200, by_user.text
            assert FACTORS in {item["source"] for item in by_user.json()["items"]}
