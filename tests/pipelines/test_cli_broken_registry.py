"""Every on-call command diagnoses a broken pointer or a broken history entry instead of crashing
(issue 16, item 6): one clear line naming the file, the documented exit code, no traceback, and
the command still does what it can (list the rest, hold, release)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recsys_algo.contracts import layout
from recsys_algo.store.storage import FileStorage
from recsys_pipelines.cli import main
from tests.support.builders import SIGNING_SPEC, publish_popularity

TENANT, SURFACE = "acme", "home"
SCOPE = ["--tenant", TENANT, "--surface", SURFACE]
# Recent, so `status` judges the serving version fresh (exit 0) and only the damage counts.
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
REPO = Path(__file__).resolve().parents[2]
BROKEN_POINTERS = [b"", b"[]", b"{}", b"garbage\xff"]


@pytest.fixture
def versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """Two published versions (older, newer); returns the storage root and both versions."""
    for name in ("RECSYS_SIGNING_KEYS_FILE", "RECSYS_SIGNALS_DSN"):
        monkeypatch.delenv(name, raising=False)
    store = FileStorage(tmp_path / "store")
    monkeypatch.setenv("RECSYS_STORAGE_URL", store.url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", SIGNING_SPEC)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    found = [
        publish_popularity(
            store, tenant=TENANT, surface=SURFACE, items=items, now=T0 + dt.timedelta(hours=n)
        ).manifest.manifest_version
        for n, items in enumerate((("a", "b"), ("c", "d")))
    ]
    return tmp_path / "store", found[0], found[1]


def run(*args: str) -> Result:
    # catch_exceptions: a crash shows up as result.exception, which every test rules out.
    return CliRunner().invoke(main, [*args, *SCOPE])


def assert_diagnosed(result: Result, code: int, *says: str) -> None:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "unexpected" not in result.output, result.output
    assert all(text in result.output for text in says), result.output


@pytest.mark.parametrize("pointer", BROKEN_POINTERS)
def test_a_broken_pointer_is_named_by_status_rollback_and_hold_and_release_clears(
    versions: tuple[Path, str, str], pointer: bytes
) -> None:
    root, older, _ = versions
    pointer_file = root / layout.pointer_key(TENANT, SURFACE)
    pointer_file.write_bytes(pointer)
    status = run("status")
    assert_diagnosed(status, 5, f"{TENANT}/{SURFACE}", str(pointer_file.name))
    rollback = run("rollback")  # nothing it says can be trusted to name "the previous"
    assert_diagnosed(rollback, 5, "the current pointer does not verify", "--to")
    assert len(rollback.output.splitlines()) == 1 and rollback.output.startswith("error: ")
    assert pointer_file.read_bytes() == pointer  # a refusal changes nothing
    held = run("hold", "--reason", "broken pointer")
    assert_diagnosed(held, 0, "serving nothing", "the pointer does not verify")
    assert_diagnosed(run("release"), 0, f"released {TENANT}/{SURFACE}")
    repaired = run("rollback", "--to", older, "--no-hold")
    assert_diagnosed(repaired, 0, older)
    assert_diagnosed(run("status", "--json"), 0)


def test_a_broken_history_entry_is_listed_as_invalid_and_a_rollback_onto_it_refused(
    versions: tuple[Path, str, str],
) -> None:
    root, older, newer = versions
    entry = root / layout.history_key(TENANT, SURFACE, older)
    entry.write_bytes(b"not a manifest")
    listing = run("manifests")
    assert_diagnosed(listing, 0, f"* {newer}")
    [line] = [line for line in listing.output.splitlines() if older in line]
    assert "INVALID: " in line and "not valid JSON" in line
    assert_diagnosed(run("status"), 0, f"serving {newer}")
    rollback = run("rollback")  # the previous version is the broken one
    assert_diagnosed(rollback, 5, f"{older}.json", "not valid JSON")
    assert len(rollback.output.splitlines()) == 1 and rollback.output.startswith("error: ")
    assert_diagnosed(run("status"), 0, f"serving {newer}")  # nothing moved
