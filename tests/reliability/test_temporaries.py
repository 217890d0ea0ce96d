"""Temporaries never outlive a failed write, and `recsys gc` sweeps what a kill left behind
without touching anything a manifest, a pointer or the landing zone refers to."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys_algo.store.registry import load_verified
from recsys_algo.store.storage import TMP_MARKER, FileStorage
from recsys_pipelines.cli import main
from tests.support.builders import SIGNING_SPEC, publish_popularity, signing_keys

REPO = Path(__file__).resolve().parents[2]
LIMIT = 4096  # RLIMIT_FSIZE of the writing process: a bigger write fails with EFBIG midway

# Writes that fail midway for real (the kernel refuses past RLIMIT_FSIZE, as on a full disk or
# quota): a replacing write, a create-exclusive write, and the service's event-log flush.
FAILING_WRITES = """
import datetime as dt, resource, signal, sys
from pathlib import Path
from recsys_algo.store.storage import FileStorage
from recsys_service.event_log import EventLog, EventLogSettings
from recsys_service.exposure import LandingEvent, epoch_ms
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
resource.setrlimit(resource.RLIMIT_FSIZE, (%(limit)d, %(limit)d))
storage = FileStorage(Path(sys.argv[1]))
big = b"x" * (4 * %(limit)d)
for write in (storage.write_bytes, storage.write_new):
    try:
        write("artifacts/acme/home/popularity/blob.arrow", big)
        raise SystemExit("the write was expected to fail")
    except OSError:
        pass
log = EventLog(storage, EventLogSettings())
now = epoch_ms(dt.datetime.now(dt.UTC))
log.add([LandingEvent(ts=now, tenant="acme", surface="home", event_type="click",
                      item_id="i" * 200, event_id=f"e{n}") for n in range(100)])
for _ in range(3):
    assert log.flush() == 0 and log.held == 100
print("failed as expected")
"""


def files_on_disk(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_writes_that_fail_midway_leave_no_temporary(tmp_path: Path) -> None:
    root = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-c", FAILING_WRITES % {"limit": LIMIT}, str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "failed as expected" in done.stdout, done.stderr[-2000:]
    leftovers = [name for name in files_on_disk(root) if TMP_MARKER in name]
    assert leftovers == [], leftovers


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStorage:
    storage = FileStorage(tmp_path / "store")
    monkeypatch.setenv("RECSYS_STORAGE_URL", storage.url)
    monkeypatch.setenv("RECSYS_SIGNING_KEYS", SIGNING_SPEC)
    monkeypatch.delenv("RECSYS_SIGNING_KEYS_FILE", raising=False)
    return storage


def _leave(store: FileStorage, key: str, hours_old: float) -> str:
    """A temporary as a killed write leaves it: the key's name, the marker, 32 hex."""
    name = f"{key}{TMP_MARKER}{os.urandom(16).hex()}"
    path = Path(store.root) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half a blob")
    moment = time.time() - hours_old * 3600
    os.utime(path, (moment, moment))
    return name


def test_recsys_gc_removes_old_temporaries_and_nothing_else(store: FileStorage) -> None:
    manifest = publish_popularity(store, tenant="acme", surface="home").manifest
    blob = manifest.artifacts["popularity"].uri
    # Data whose names merely contain the marker is not a temporary of ours.
    store.write_bytes("raw/acme/home/2026-11-20/batch.tmp-1.jsonl", b"{}\n")
    stale = [
        _leave(store, blob, 30),
        _leave(store, f"registry/acme/home/manifests/{manifest.manifest_version}.json", 25),
        _leave(store, "raw/acme/home/2026-11-20/svc-1.jsonl", 48),
    ]
    fresh = _leave(store, "registry/current/acme/home/manifest.json", 0.1)  # maybe in flight
    kept = [name for name in files_on_disk(Path(store.root)) if name not in stale]

    dry = CliRunner().invoke(main, ["gc", "--older-than", "24", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert all(name in dry.output for name in stale) and fresh not in dry.output
    assert "would remove 3" in dry.output
    assert len(files_on_disk(Path(store.root))) == len(kept) + len(stale)

    swept = CliRunner().invoke(main, ["gc", "--older-than", "24"])
    assert swept.exit_code == 0, swept.output
    assert "removed 3 temporaries" in swept.output
    assert files_on_disk(Path(store.root)) == kept  # the fresh one and every object stay
    assert fresh in kept
    found = load_verified(store, signing_keys(), "acme", "home")
    assert found is not None and found[0].manifest == manifest


@pytest.mark.parametrize("hours", ["0", "-1", "soon", "1e9"])
def test_recsys_gc_refuses_a_bad_age_with_exit_2(store: FileStorage, hours: str) -> None:
    result = CliRunner().invoke(main, ["gc", "--older-than", hours])
    assert result.exit_code == 2, result.output
