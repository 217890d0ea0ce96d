"""kill -9 of the loader child while it writes a prepared file: the old version keeps serving,
no partial file is ever mapped, and the next poll builds the new version."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from recsys_algo.store.storage import FileStorage
from recsys_service.process_loader import ProcessLoader
from recsys_service.serving_state import ServingState
from tests.service.builders import item_ids, neighbour_rows, publish_scope, signing_keys

# Runs the real child, whose write_prepared writes half of the temporary file, then SIGKILLs
# its own process: what an OOM kill or a crash mid-write leaves behind.
KILLED_MID_WRITE = """
import os, runpy, signal
import recsys_algo.serving.model_file as prepared
real_replace = prepared.Path.replace
def half_then_die(self, target):
    data = self.read_bytes()
    self.write_bytes(data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)
prepared.Path.replace = half_then_die
runpy.run_module("recsys_service.loader_child", run_name="__main__")
"""


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "store")


def wrapper(tmp_path: Path) -> Path:
    script = tmp_path / "child.py"
    script.write_text(KILLED_MID_WRITE)
    python = tmp_path / "python-killed-mid-write"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}"\n')
    python.chmod(0o755)
    return python


def test_child_killed_while_writing_leaves_the_old_version_serving(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prep = tmp_path / "prep"
    old = publish_scope(
        storage, "acme", "home", item_ids("old-", 30), neighbors=neighbour_rows("old-")
    )
    state = ServingState(storage, signing_keys(), loader=ProcessLoader(prep))
    state.refresh()
    new = publish_scope(
        storage, "acme", "home", item_ids("new-", 30), neighbors=neighbour_rows("new-"),
        parameters={"run": 2},
    )  # fmt: skip
    files_before = {p.name for p in prep.glob("*.prep")}

    monkeypatch.setattr(sys, "executable", str(wrapper(tmp_path)))
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.loaded.manifest.manifest_version == old.manifest_version
    assert entry.last_error is not None and "signal 9" in entry.last_error
    # No prepared file was added, and the dead child's half-written temporary is removed.
    assert {p.name for p in prep.glob("*.prep")} == files_before
    assert not list(prep.glob(".*tmp*"))

    monkeypatch.undo()
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None and entry.last_error is None
    assert entry.loaded.manifest.manifest_version == new.manifest_version
    assert entry.loaded.model.popular(1)[0][0] == "new-000"
