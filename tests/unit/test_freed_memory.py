"""Each pipeline step hands back the memory it freed before the next step runs
(stages/memory): the allocators under a run otherwise keep it and the next step starts on it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_algo.kinds.kind import KINDS
from recsys_algo.policy.publish import PublishOptions
from recsys_algo.recipes.params import ModelParams
from recsys_algo.stages import memory
from recsys_algo.stages.artifacts import build_artifact
from recsys_algo.stages.evaluate import evaluate_partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.publish import publish_partition
from recsys_algo.store.storage import FileStorage, Storage

P = Partition("t", "home", dt.date(2026, 11, 2))
MB = 1 << 20


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(memory._TRIM is None, reason="the C library has no malloc_trim (not glibc)")
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc: RSS not readable")
def test_release_returns_a_heap_freed_between_live_blocks_to_the_system() -> None:
    # 100 kB blocks come from glibc's heap (below its mmap threshold). Every tenth stays alive,
    # so the ~180 MB freed lies in holes between live blocks, which free() alone never gives
    # back (it only shrinks the heap's top).
    blocks = [b"x" * 100_000 for _ in range(2_000)]
    alive = blocks[::10]
    del blocks
    held = _rss_mb()
    memory.release_freed_memory()
    assert held - _rss_mb() > 100, "the ~180 MB freed between live blocks stayed resident"
    assert all(block[0] == ord("x") for block in alive)


def _steps(storage: Storage) -> dict[str, Callable[[], object]]:
    params = ModelParams()
    keys = parse_signing_keys("k:" + "ab" * 32)
    log = logging.getLogger("test")
    return {
        "ingest": lambda: ingest_partition(storage, P),
        "canonicalize": lambda: canonicalize_partition(storage, P),
        "artifact": lambda: build_artifact(storage, P, KINDS[0], params, 1),
        "evaluation": lambda: evaluate_partition(storage, P, params, 1),
        "publish": lambda: publish_partition(
            storage,
            keys,
            P,
            PublishOptions(),
            params=params,
            window_days=1,
            signals_dsn="",
            log=log,
        ),
    }


@pytest.mark.parametrize("step", ["ingest", "canonicalize", "artifact", "evaluation", "publish"])
def test_each_step_releases_freed_memory_even_when_it_fails(
    step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: calls.append(None))
    with pytest.raises(DataSourceError):  # an empty store: nothing landed, nothing to read
        _steps(FileStorage(tmp_path))[step]()
    assert len(calls) == 1
