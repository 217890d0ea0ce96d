"""Two runs of one partition over different landing data, interleaved deterministically: each
publishes a whole model of its own data or loses cleanly (exit 6); never a mix.

The second run is started from inside the first, at a chosen storage write of the first (one
thread, no timing): the points are where the shared staging let one run publish the other's
artifacts (issue 14, observation 5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from recsys_algo.contracts.errors import ConcurrentPublishError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.kinds.kind import INFO, Kind
from recsys_algo.store import registry
from recsys_algo.store.storage import FileStorage, open_storage
from recsys_pipelines.defs.resources import StorageResource
from tests.pipelines.conftest import (
    DAY0,
    SURFACE,
    TENANT,
    Env,
    event_lines,
    new_env,
)

DATA_A = event_lines(DAY0, 40)
DATA_B = event_lines(DAY0, 40, offset=5)  # other items: every kind's artifact differs


def file_root(url: str) -> Path:
    storage = open_storage(url)
    assert isinstance(storage, FileStorage)
    return storage.root


class PausingStorage(FileStorage):
    """A file storage that calls `hook` once, right after the first write whose key ends with
    `trigger`; the hook runs the other run to completion before this run goes on."""

    trigger = ""
    hook: Callable[[], None] | None = None

    def write_bytes(self, key: str, data: bytes) -> None:
        super().write_bytes(key, data)
        hook = type(self).hook
        if hook is not None and key.endswith(type(self).trigger):
            type(self).hook = None
            hook()


@pytest.fixture
def paused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(StorageResource, "open", lambda self: PausingStorage(file_root(self.url)))
    with dg.DagsterInstance.ephemeral() as instance:
        yield new_env(PausingStorage(tmp_path / "store"), instance)
    PausingStorage.hook = None


def model_of(tmp_path: Path, lines: list[str], name: str) -> dict[str, str]:
    """The artifact digests of a run over `lines` alone, in a storage of its own."""
    with dg.DagsterInstance.ephemeral() as instance:
        env = new_env(FileStorage(tmp_path / name), instance)
        env.write_day(DAY0, lines)
        env.run(DAY0)
    return digests(registry.history(env.storage, env.keys, TENANT, SURFACE)[0].manifest)


def digests(manifest: Manifest | None) -> dict[str, str]:
    assert manifest is not None
    return {kind: ref.sha256 for kind, ref in manifest.artifacts.items()}


def published(env: Env) -> list[Manifest]:
    entries = registry.history(env.storage, env.keys, TENANT, SURFACE)
    return [e.manifest for e in entries if e.manifest is not None]


def run_b_in_the_middle(env: Env, trigger: str, *, whole: bool) -> None:
    """When run A writes `trigger`, new landing data arrives and run B runs (whole, or only
    ingest, canonical events and popularity) before A goes on."""

    def run_b() -> None:
        env.write_day(DAY0, DATA_B)
        if whole:
            env.run(DAY0)
        else:
            selection = ["raw_events", "canonical_events", "popularity"]
            job = env.definitions().resolve_job_def("daily_partition")
            result = job.execute_in_process(
                partition_key=f"{DAY0.isoformat()}|{TENANT}.{SURFACE}",
                instance=env.instance,
                asset_selection=[dg.AssetKey(k) for k in selection],
                raise_on_error=False,
            )
            assert result.success

    PausingStorage.trigger = trigger
    PausingStorage.hook = run_b


@pytest.mark.parametrize(
    ("trigger", "whole_b"),
    [
        # A staged every kind; B rewrites the day and restages popularity; A evaluates, publishes.
        ("session_seq.json", False),
        # A staged everything and evaluated; B runs whole and publishes; A publishes.
        ("evaluation.json", True),
    ],
)
def test_overlapping_runs_publish_whole_models_of_their_own_or_lose_cleanly(
    paused: Env, tmp_path: Path, trigger: str, whole_b: bool
) -> None:
    model_a, model_b = model_of(tmp_path, DATA_A, "a"), model_of(tmp_path, DATA_B, "b")
    # Every kind that reads events and names items differs between the two data sets (the
    # catalog is shared; revisit's table, by recency and count, names no item).
    named = [k for k in model_a if INFO[Kind(k)].reads_events and k != Kind.REVISIT]
    assert all(model_a[k] != model_b[k] for k in named)
    paused.write_day(DAY0, DATA_A)
    run_b_in_the_middle(paused, trigger, whole=whole_b)
    try:
        outcome_a = paused.run(DAY0)
    except ConcurrentPublishError as exc:  # exit 6: the clean way to lose
        outcome_a = None
        assert "another run" in str(exc) and "nothing was published" in str(exc)
    if not whole_b:
        paused.run(DAY0)  # B again, whole: the landing data is B's now
    models = [digests(m) for m in published(paused)]
    assert models, "nothing was published"
    for model in models:
        assert model in (model_a, model_b), f"a manifest mixes the two runs' artifacts: {model}"
    if outcome_a is not None:  # A published: its own data, not B's
        own = next(m for m in published(paused) if m.manifest_version == outcome_a.manifest_version)
        assert digests(own) == model_a
    assert digests(published(paused)[0]) == model_b  # the last publish is B's, whole


def test_runs_that_do_not_overlap_each_publish_their_own_model(env: Env, tmp_path: Path) -> None:
    model_a, model_b = model_of(tmp_path, DATA_A, "a"), model_of(tmp_path, DATA_B, "b")
    env.write_day(DAY0, DATA_A)
    env.run(DAY0)
    env.write_day(DAY0, DATA_B)
    env.run(DAY0)
    assert [digests(m) for m in published(env)] == [model_b, model_a]
