"""kill -9 of a publish at each step, and of canonicalization mid-write: readers see old or new."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage
from recsys_service.scope_sources import load_scope
from recsys_service.serving_state import ServingState
from tests.reliability.generations import generation_blobs, publish_generation
from tests.reliability.killer import MUTATING, T_NEW, encode_plan
from tests.support.builders import signing_keys
from tests.support.faults import FaultyStorage

REPO = Path(__file__).resolve().parents[2]
T_OLD = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)


def publish_steps(tmp_path: Path) -> list[tuple[str, str]]:
    """The mutating calls of one publish on top of an existing one, in order (a dry run)."""
    storage = FaultyStorage(FileStorage(tmp_path / "dry"), ops=MUTATING)
    publish_generation(storage.inner, "old-", T_OLD)
    publish_generation(storage, "new-", T_NEW)
    return [c for c in storage.calls if c[0] in storage.ops]


def kill_points(steps: list[tuple[str, str]]) -> dict[str, tuple[int, str]]:
    """name -> (nth mutating call, before/after) for every step a publish goes through."""
    blobs = [i for i, (op, key) in enumerate(steps, 1) if key.startswith("artifacts/")]
    (history,) = [i for i, (op, key) in enumerate(steps, 1) if "/manifests/" in key]
    (swap,) = [i for i, (op, _) in enumerate(steps, 1) if op == "compare_and_swap"]
    assert blobs == [1, 2, 3, 4] and history == 5 and swap == 6, steps
    return {
        "after-first-blob": (blobs[0], "after"),
        "after-some-blobs": (blobs[2], "after"),
        "after-all-blobs": (blobs[-1], "after"),
        "after-history": (history, "after"),
        "before-swap": (swap, "before"),
        "after-swap": (swap, "after"),
    }


def served_prefixes(storage: FileStorage) -> tuple[str, set[str]]:
    """(version, item-id prefixes) the service's loader builds from the current pointer."""
    loaded = load_scope(storage, signing_keys(), "demo", "home", T_NEW)
    model = loaded.model
    assert sorted(model.neighbors) == ["content_sim", "cooc", "session_seq"]
    ids = set(model.vocab.ids)  # every item of every index of the version
    return loaded.manifest.manifest_version, {i.split("-")[0] for i in ids}


def test_publish_killed_at_each_step_serves_old_or_new_never_a_mix(tmp_path: Path) -> None:
    points = kill_points(publish_steps(tmp_path))
    stores, old, services = {}, {}, {}
    for name in points:
        stores[name] = FileStorage(tmp_path / name)
        old[name] = publish_generation(stores[name], "old-", T_OLD)
        services[name] = ServingState(stores[name], signing_keys())
        services[name].refresh()
    jobs = [
        {"root": str(stores[name].root), "nth": nth, "when": when}
        for name, (nth, when) in points.items()
    ]
    plan = tmp_path / "plan.json"
    plan.write_text(encode_plan(generation_blobs("new-"), jobs))
    killer = subprocess.run(
        [sys.executable, "-m", "tests.reliability.killer", str(plan)],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=300,
    )
    statuses = json.loads(killer.stdout)
    for name, storage in stores.items():
        status = statuses[str(storage.root)]
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (name, status)
    for name, storage in stores.items():
        swapped = name == "after-swap"
        expected_prefix = "new" if swapped else "old"
        versions = [e.version for e in registry.history(storage, signing_keys(), "demo", "home")]
        assert all(
            e.error is None for e in registry.history(storage, signing_keys(), "demo", "home")
        )
        # The registry reader: a complete, verified manifest of one generation.
        found = registry.load_verified(storage, signing_keys(), "demo", "home")
        assert found is not None, name
        version = found[0].manifest.manifest_version
        assert (version == old[name]) is not swapped, name
        # The service's loader: every item id of every table from that same generation.
        assert served_prefixes(storage) == (version, {expected_prefix}), name
        # A running service notices the change (or not) and keeps serving without an error.
        services[name].refresh()
        entry = services[name].get("demo", "home")
        assert entry is not None and entry.loaded is not None and entry.last_error is None, name
        assert entry.loaded.manifest.manifest_version == version, name
        assert not list(storage.root.rglob(f"*{'.tmp-'}*")), name
        # The rerun finishes the job; before the swap it rebuilds the very same record.
        rerun = publish_generation(storage, "new-", T_NEW)
        if not swapped and len(versions) == 2:
            assert rerun in versions, name
        assert served_prefixes(storage) == (rerun, {"new"}), name
        # Blobs are content-addressed: the rerun reused what the killed run wrote.
        assert len(storage.list("artifacts")) == 8, name


CANONICAL_CHILD = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from pathlib import Path
    from recsys_algo.store.storage import FileStorage
    from recsys_algo.contracts.names import Partition
    from recsys_algo.stages.ingest import canonicalize_partition

    class DiesMidWrite(FileStorage):
        # Test-only: write half the canonical parquet to the temporary, then die (kill -9).
        def _write_tmp(self, path, data):
            if path.name.endswith(".parquet") and "canonical" in path.parts:
                super()._write_tmp(path, data[: len(data) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            return super()._write_tmp(path, data)

    # One interpreter pays the dagster import; a fork per store (no polars pool exists yet).
    day, statuses = dt.date.fromisoformat(sys.argv[1]), []
    for root in sys.argv[2:]:
        pid = os.fork()
        if pid == 0:
            try:
                canonicalize_partition(DiesMidWrite(Path(root)), Partition("acme", "home", day))
            finally:
                os._exit(0)
        statuses.append(os.waitpid(pid, 0)[1])
    print(*statuses)
    """
)


def test_canonicalization_killed_mid_write_never_exposes_a_partial_parquet(
    tmp_path: Path,
) -> None:
    from recsys_algo.contracts.canonical import from_parquet_bytes
    from recsys_algo.contracts.names import Partition
    from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
    from recsys_algo.stages.window import read_canonical, read_window
    from recsys_algo.store.landing import write_landing_file
    from tests.pipelines.conftest import DAY0, event_lines

    p = Partition("acme", "home", DAY0)
    first, second = FileStorage(tmp_path / "first"), FileStorage(tmp_path / "again")
    for storage in (first, second):
        day = "\n".join(event_lines(DAY0, 200)).encode()
        write_landing_file(storage, "acme", "home", DAY0, "a.jsonl", day)
        ingest_partition(storage, p)
    canonicalize_partition(second, p)
    previous = read_canonical(second, "acme", "home", DAY0)
    assert previous is not None
    # The rerun of `second` canonicalizes more events: its bytes would differ from previous.
    more = "\n".join(event_lines(DAY0, 300, offset=5)).encode()
    write_landing_file(second, "acme", "home", DAY0, "b.jsonl", more)
    ingest_partition(second, p)

    killer = subprocess.run(
        [
            sys.executable,
            "-c",
            CANONICAL_CHILD,
            DAY0.isoformat(),
            str(first.root),
            str(second.root),
        ],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=300,
    )
    for status in map(int, killer.stdout.split()):
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    key = layout.canonical_key("acme", "home", DAY0)
    for storage in (first, second):
        # The kill hit mid-write: a half-written temporary exists next to the key ...
        (partial,) = (storage.root / key).parent.glob("*.tmp-*")
        assert partial.stat().st_size > 0
        # ... and no reader ever sees it: not a listing, not a read, not a window.
        assert storage.list("canonical") == ([] if storage is first else [key])
    assert read_canonical(first, "acme", "home", DAY0) is None
    with pytest.raises(DataSourceError, match="canonical_events for the partition day is missing"):
        read_window(first, p, 7)
    assert read_canonical(second, "acme", "home", DAY0) == previous
    assert read_window(second, p, 7).frame.equals(from_parquet_bytes(previous))
    # The rerun finishes: the same bytes an uninterrupted run writes.
    for storage in (first, second):
        report = canonicalize_partition(storage, p)
        data = read_canonical(storage, "acme", "home", DAY0)
        assert data is not None and from_parquet_bytes(data).height == report.rows
    clean = FileStorage(tmp_path / "clean")
    write_landing_file(
        clean, "acme", "home", DAY0, "a.jsonl", "\n".join(event_lines(DAY0, 200)).encode()
    )
    ingest_partition(clean, p)
    canonicalize_partition(clean, p)
    assert read_canonical(first, "acme", "home", DAY0) == read_canonical(
        clean, "acme", "home", DAY0
    )
    assert read_canonical(second, "acme", "home", DAY0) != previous
