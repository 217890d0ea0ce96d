"""A symbolic link in the landing zone is never followed: a linked landing file is quarantined
by its name only (nothing of its target is read or copied), a linked day folder fails the
partition with a clear error, and the rest of the day is ingested as usual."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.store.storage import FileStorage
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines

SECRET = "outside-the-root-0451"


def outside(tmp_path: Path) -> Path:
    """A landing-shaped file outside the storage root, every line valid and marked."""
    target = tmp_path / "elsewhere" / "secret.jsonl"
    target.parent.mkdir()
    marked = f'"item_id": "{SECRET}-'
    lines = [line.replace('"item_id": "', marked) for line in event_lines(DAY0, 5)]
    target.write_text("\n".join(lines) + "\n")
    return target


def stored_text(root: Path) -> str:
    """Every file the store wrote (the links themselves are the test's, not the store's)."""
    files = (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return "".join(p.read_bytes().decode("latin-1") for p in files)


def test_a_linked_landing_file_is_quarantined_by_name_and_never_read(
    env: Env, tmp_path: Path
) -> None:
    assert isinstance(env.storage, FileStorage)
    env.write_day(DAY0, event_lines(DAY0, 60))
    link = env.storage.root / layout.raw_prefix(TENANT, SURFACE, DAY0) / "linked.jsonl"
    link.symlink_to(outside(tmp_path))
    outcome = env.run(DAY0)
    assert outcome.manifest_version  # the day's real file was ingested and published
    quarantine = env.storage.read_bytes(layout.quarantine_key(TENANT, SURFACE, DAY0))
    [record] = [json.loads(line) for line in quarantine.splitlines()]
    assert record["file"] == "linked.jsonl" and record["reason"] == "symbolic_link"
    assert "not followed" in record["detail"] and "raw" not in record
    assert SECRET not in stored_text(env.storage.root)


def test_a_linked_day_folder_fails_the_partition_without_reading_it(
    env: Env, tmp_path: Path
) -> None:
    assert isinstance(env.storage, FileStorage)
    folder = env.storage.root / layout.raw_prefix(TENANT, SURFACE, DAY0)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(outside(tmp_path).parent, target_is_directory=True)
    with pytest.raises(DataSourceError, match="symbolic link") as failed:
        env.run(DAY0)
    assert DAY0.isoformat() in str(failed.value) and str(tmp_path / "elsewhere") not in str(
        failed.value
    )
    assert SECRET not in stored_text(env.storage.root)
