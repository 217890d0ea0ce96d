"""The Dagster instance's PostgreSQL dies mid-run (issue 6, Faults): `recsys materialize` fails
with one clear line and exit 1, nothing is half-published, and a rerun succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.store import storage as storage_module
from recsys_algo.store.catalog import write_catalog
from recsys_algo.store.registry import history, load_verified
from recsys_algo.store.storage import FileStorage, open_storage
from recsys_pipelines.cli import main
from tests.integration import postgres
from tests.pipelines.conftest import (
    DAY0,
    KEY_SPEC,
    SMALL_DATA_PARAMS,
    SURFACE,
    TENANT,
    catalog_rows,
    event_lines,
)

REPO = Path(__file__).resolve().parents[2]
SCHEME = "pg-outage"


def halting_storage(url: str) -> FileStorage:
    return HaltingStorage(Path(url.split("://", 1)[1]))


class HaltingStorage(FileStorage):
    """file:// storage that halts the Dagster instance's server at the first write under
    `prefix` (then writes on: the object store itself is fine)."""

    server: postgres.PostgresServer | None = None
    prefix = ""

    def _maybe_halt(self, key: str) -> None:
        server = HaltingStorage.server
        if server is not None and key.startswith(HaltingStorage.prefix):
            HaltingStorage.server = None
            postgres.halt(server)

    def write_bytes(self, key: str, data: bytes) -> None:
        self._maybe_halt(key)
        super().write_bytes(key, data)

    def write_new(self, key: str, data: bytes) -> None:
        self._maybe_halt(key)
        super().write_new(key, data)


@pytest.fixture
def own_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[postgres.PostgresServer]:
    """A server of this test's own: halting the session's one would break other tests. The
    storage scheme is registered for the test only (error messages list the schemes)."""
    monkeypatch.setitem(storage_module._SCHEMES, SCHEME, halting_storage)
    server = postgres.start()
    try:
        yield server
    finally:
        HaltingStorage.server = None
        postgres.stop(server)


def instance_env(
    server: postgres.PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """DAGSTER_HOME with docker/dagster.yaml on the server, and the CLI's RECSYS_ settings."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((REPO / "docker" / "dagster.yaml").read_text(encoding="utf-8"))
    # Step logs go to S3 in production; this test is about the database, so they stay local.
    del config["compute_logs"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    server.create_database("recsys")
    for name, value in server.env("recsys").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("RECSYS_STORAGE_URL", url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", KEY_SPEC)
    monkeypatch.setenv("RECSYS_MODEL_PARAMS", SMALL_DATA_PARAMS)
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)


@pytest.mark.parametrize(
    ("prefix", "published"),
    [
        ("canonical/", False),  # dies before anything is published
        ("registry/", True),  # dies while the publish writes its history record and pointer
    ],
)
def test_instance_database_dying_mid_run_fails_clearly_and_a_rerun_succeeds(
    own_server: postgres.PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    published: bool,
) -> None:
    url = f"{SCHEME}://{tmp_path / 'store'}"
    instance_env(own_server, tmp_path, monkeypatch, url)
    storage = open_storage(url)
    write_catalog(storage, TENANT, catalog_rows())
    lines = event_lines(DAY0, 300)
    storage.write_bytes(f"raw/{TENANT}/{SURFACE}/{DAY0}/a.jsonl", "\n".join(lines).encode())
    keys = parse_signing_keys(KEY_SPEC)
    args = ["materialize", "--tenant", TENANT, "--surface", SURFACE, "--date", DAY0.isoformat()]

    HaltingStorage.server, HaltingStorage.prefix = own_server, prefix
    failed = CliRunner().invoke(main, args, catch_exceptions=False)
    assert failed.exit_code == 1, failed.output
    (line,) = [ln for ln in failed.stderr.splitlines() if ln.startswith("error: ")]
    assert "Traceback" not in failed.stderr, failed.stderr[-3000:]  # only with --verbose
    assert "the Dagster instance's database failed during the run" in line
    assert "rerun once the database is back" in line
    # Complete or absent: a verified manifest whose every artifact checks out, or nothing.
    found = load_verified(storage, keys, TENANT, SURFACE)
    assert (found is not None) == published
    assert len(history(storage, keys, TENANT, SURFACE)) == int(published)

    postgres.resume(own_server)
    rerun = CliRunner().invoke(main, args, catch_exceptions=False)
    assert rerun.exit_code == 0, rerun.output
    found = load_verified(storage, keys, TENANT, SURFACE)
    assert found is not None
    assert all(entry.error is None for entry in history(storage, keys, TENANT, SURFACE))


def test_instance_database_down_before_the_run_is_one_clear_line(
    own_server: postgres.PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_env(own_server, tmp_path, monkeypatch, (tmp_path / "store").as_uri())
    postgres.halt(own_server)
    args = ["materialize", "--tenant", TENANT, "--surface", SURFACE, "--date", DAY0.isoformat()]
    failed = CliRunner().invoke(main, args, catch_exceptions=False)
    assert failed.exit_code == 1, failed.output
    (line,) = [ln for ln in failed.stderr.splitlines() if ln.startswith("error: ")]
    assert "Traceback" not in failed.stderr, failed.stderr[-3000:]  # only with --verbose
    assert "the Dagster instance's database failed" in line and "nothing was run" in line
    assert "\n" not in line and "sqlalche.me" not in line
    postgres.resume(own_server)  # the fixture stops it
