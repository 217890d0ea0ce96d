"""The spare loader child: started ahead with its imports done, used for the next version,
replaced when stale or dead, stopped with the service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recsys_algo.store.storage import FileStorage
from recsys_service import loader_spare
from recsys_service.process_loader import ProcessLoader
from recsys_service.serving_state import ServingState
from tests.service.builders import item_ids, publish_popularity, signing_keys
from tests.service.conftest import ClientFactory, serving_of

REPOSITORY = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def ends(pid: int, timeout: float = 60.0) -> bool:
    """Whether the process ends (and is reaped) within timeout: a child that reported its
    model writes its plain answers, then exits."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def served(state: ServingState) -> str | None:
    entry = state.get("acme", "home")
    assert entry is not None
    return entry.loaded.manifest.manifest_version if entry.loaded else entry.last_error


@pytest.fixture
def loader(tmp_path: Path) -> ProcessLoader:
    loader = ProcessLoader(tmp_path / "prep", spare=True)
    yield loader  # type: ignore[misc]
    loader.close()


def count_starts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    started: list[list[str]] = []
    real = loader_spare._start

    def spy(command: list[str]) -> subprocess.Popen[bytes]:
        started.append(command)
        return real(command)

    monkeypatch.setattr(loader_spare, "_start", spy)
    return started


def test_the_next_version_is_built_by_the_spare_started_before_it(
    storage: FileStorage, loader: ProcessLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ServingState(storage, signing_keys(), loader=loader)
    first = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state.refresh()
    assert served(state) == first.manifest_version
    spare = loader.children.spare_pid
    assert spare is not None  # started after the first build, waiting

    started = count_starts(monkeypatch)
    second = publish_popularity(storage, "acme", "home", item_ids("b", 5))
    state.refresh()
    assert served(state) == second.manifest_version
    # The waiting spare built it and exits; the only start is the next spare.
    assert ends(spare)
    assert len(started) == 1
    assert loader.children.spare_pid not in (None, spare)


def test_a_dead_spare_is_replaced_by_a_fresh_child(
    storage: FileStorage, loader: ProcessLoader
) -> None:
    state = ServingState(storage, signing_keys(), loader=loader)
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state.refresh()
    spare = loader.children.spare_pid
    assert spare is not None
    os.kill(spare, signal.SIGKILL)
    second = publish_popularity(storage, "acme", "home", item_ids("b", 5))
    state.refresh()
    assert served(state) == second.manifest_version


def test_a_spare_started_with_another_python_is_not_used(
    storage: FileStorage, loader: ProcessLoader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ServingState(storage, signing_keys(), loader=loader)
    first = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    state.refresh()
    spare = loader.children.spare_pid
    assert spare is not None
    killed = tmp_path / "killed-python"
    killed.write_text("#!/bin/sh\necho 'out of memory, say' >&2\nkill -9 $$\n")
    killed.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(killed))
    publish_popularity(storage, "acme", "home", item_ids("b", 5))
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.loaded.manifest.manifest_version == first.manifest_version
    assert (
        entry.last_error == "LoaderDied: the loader process ended with signal 9: out of memory, say"
    )
    assert not alive(spare)


def test_without_a_spare_every_child_starts_cold(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader = ProcessLoader(tmp_path / "prep")
    started = count_starts(monkeypatch)
    state = ServingState(storage, signing_keys(), loader=loader)
    for prefix in ("a", "b"):
        manifest = publish_popularity(storage, "acme", "home", item_ids(prefix, 5))
        state.refresh()
        assert served(state) == manifest.manifest_version
    assert len(started) == 2
    assert loader.children.spare_pid is None


# Runs the child's main with a stdin that records which build modules are already imported
# when the request is read, then gives it nothing (a spare its parent closed).
AT_REQUEST = """
import io, sys
from recsys_service import loader_child
seen = []
class Stdin:
    class buffer:
        @staticmethod
        def read():
            seen.extend(m for m in loader_child.BUILD_MODULES if m in sys.modules)
            return b""
sys.stdin = Stdin()
code = loader_child.main()
print(code, ",".join(seen))
"""


def test_a_child_imports_the_build_modules_before_reading_its_request() -> None:
    from recsys_service.loader_child import BUILD_MODULES

    done = subprocess.run(
        [sys.executable, "-c", AT_REQUEST], capture_output=True, text=True, check=False,
        cwd=REPOSITORY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    # Exit 0 and nothing else printed for an empty request; every build module was imported.
    assert done.stdout.strip() == "0 " + ",".join(BUILD_MODULES)


def test_the_service_stops_its_spare_when_it_stops(
    published: FileStorage, client_for: ClientFactory, tmp_path: Path
) -> None:
    with client_for(loader="process", prepared_dir=tmp_path / "prep") as client:
        assert client.post("/v1/recommend", json={"surface": "home", "k": 3}).status_code == 200
        loader = serving_of(client).loader
        assert isinstance(loader, ProcessLoader)
        spare = loader.children.spare_pid
        assert spare is not None
    assert not alive(spare)
