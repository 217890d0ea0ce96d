"""The process loader: a child verifies and builds, serving processes map what it wrote."""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.kinds.kind import KINDS
from recsys_algo.loading.model import load_model
from recsys_algo.serving.recommender import Query
from recsys_algo.store.registry import publish
from recsys_algo.store.rollback import rollback
from recsys_algo.store.storage import FileStorage
from recsys_service import loader_child
from recsys_service.app import create_app
from recsys_service.loader_spare import Children, Finished
from recsys_service.process_loader import ProcessLoader, _failure, private_directory
from recsys_service.scope_sources import load_scope
from recsys_service.serving_state import ServingState
from tests.service.builders import (
    AS_OF,
    OTHER_SIGNING_SPEC,
    SIGNING_SPEC,
    item_ids,
    make_settings,
    neighbour_rows,
    publish_popularity,
    publish_scope,
    signing_keys,
    tamper_artifact,
)
from tests.service.conftest import ClientFactory, serving_of
from tests.support.models import synthetic_blobs, synthetic_tables

LATER = AS_OF + dt.timedelta(days=1)


def _state(storage: FileStorage, directory: Path, **kwargs: object) -> ServingState:
    keys = kwargs.pop("keys", signing_keys())
    return ServingState(storage, keys, loader=ProcessLoader(directory), **kwargs)  # type: ignore[arg-type]


def served(state: ServingState, tenant: str = "acme") -> str | None:
    entry = state.get(tenant, "home")
    assert entry is not None
    return entry.loaded.manifest.manifest_version if entry.loaded else None


def test_child_built_version_answers_like_an_in_process_load(
    storage: FileStorage, tmp_path: Path
) -> None:
    publish_scope(storage, "acme", "home", item_ids("a", 40), neighbors=neighbour_rows("a"))
    state = _state(storage, tmp_path / "prep")
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None, entry
    reference = load_scope(storage, signing_keys(), "acme", "home", dt.datetime.now(dt.UTC))
    assert entry.loaded.manifest == reference.manifest
    assert entry.loaded.token == reference.token
    assert entry.loaded.blend == reference.blend
    model, expected = entry.loaded.model, reference.model
    assert model.kinds == expected.kinds
    for seeds in ([], ["a000"], ["a001", "a000"], ["a010"]):
        query = reference_query(seeds)
        assert model.recommend(query, reference.blend) == expected.recommend(query, reference.blend)
    (prepared,) = (tmp_path / "prep").glob("*.prep")
    assert prepared.name.startswith("acme.home.")
    assert (tmp_path / "prep").stat().st_mode & 0o777 == 0o700


def reference_query(session: list[str]) -> Query:
    return Query(k=12, session_items=tuple(session), exclude=frozenset({"a003"}))


def test_another_serving_state_maps_the_file_without_building_again(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    _state(storage, tmp_path / "prep").refresh()
    other = _state(storage, tmp_path / "prep")

    def no_child(*args: object) -> Path:
        raise AssertionError("a prepared file for this pointer exists: nothing to build")

    monkeypatch.setattr(ProcessLoader, "_prepare", no_child)
    other.refresh()
    assert served(other) == manifest.manifest_version


def test_new_version_is_swapped_in_and_old_files_are_pruned(
    storage: FileStorage, tmp_path: Path
) -> None:
    publish_popularity(storage, "acme", "home", item_ids("v0-", 5))
    state = _state(storage, tmp_path / "prep")
    state.refresh()
    for n in range(1, 5):
        newer = publish_popularity(storage, "acme", "home", item_ids(f"v{n}-", 5))
        state.refresh()
        assert served(state) == newer.manifest_version
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.loaded.model.popular(1)[0][0] == "v4-000"
    assert len(list((tmp_path / "prep").glob("acme.home.*.prep"))) == 3


def test_tampered_artifact_fails_in_the_child_and_the_old_version_keeps_serving(
    storage: FileStorage, tmp_path: Path
) -> None:
    good = publish_popularity(storage, "acme", "home", item_ids("old-", 5))
    state = _state(storage, tmp_path / "prep")
    state.refresh()
    bad = publish_popularity(storage, "acme", "home", item_ids("new-", 5))
    tamper_artifact(storage, bad)
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None
    assert entry.loaded.manifest.manifest_version == good.manifest_version
    # The child's exception class survives the process boundary (metrics label by it).
    assert entry.last_error is not None and entry.last_error.startswith("ArtifactError: ")
    assert "does not match the manifest" in entry.last_error


def test_other_signing_keys_never_map_a_file_verified_with_these(
    storage: FileStorage, tmp_path: Path
) -> None:
    """The file of a model exists, but this service verifies the manifest itself first."""
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    _state(storage, tmp_path / "prep").refresh()
    assert list((tmp_path / "prep").glob("*.prep"))
    other = _state(storage, tmp_path / "prep", keys=signing_keys(OTHER_SIGNING_SPEC))
    other.refresh()
    entry = other.get("acme", "home")
    assert entry is not None and entry.loaded is None
    assert entry.last_error is not None and entry.last_error.startswith("SignatureError: ")


def no_child(*args: object) -> dict[str, object]:
    raise AssertionError("the model of this manifest is prepared already: nothing to build")


def test_rollback_and_identical_republish_map_without_a_child(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = publish_popularity(storage, "acme", "home", item_ids("old-", 5))
    state = _state(storage, tmp_path / "prep")
    state.refresh()
    publish_popularity(storage, "acme", "home", item_ids("new-", 5))
    state.refresh()
    monkeypatch.setattr(ProcessLoader, "_prepare", no_child)
    rollback(storage, signing_keys(), "acme", "home", to_version=first.manifest_version)
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is not None and entry.last_error is None
    assert entry.loaded.manifest.manifest_version == first.manifest_version
    assert entry.loaded.model.popular(1)[0][0] == "old-000"
    # Same artifacts and parameters under a new manifest version: the same model file.
    again = publish_popularity(storage, "acme", "home", item_ids("old-", 5), as_of=LATER)
    state.refresh()
    assert served(state) == again.manifest_version


def test_other_parameters_make_another_model(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_scope(storage, "acme", "home", item_ids("a", 5))
    state = _state(storage, tmp_path / "prep")
    state.refresh()
    blend = {"blend": {"weights": {"popularity": 0.5}, "rank_offset": 3.0}}
    publish_scope(storage, "acme", "home", item_ids("a", 5), parameters=blend, as_of=LATER)
    monkeypatch.setattr(ProcessLoader, "_prepare", no_child)
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.last_error is not None
    assert "nothing to build" in entry.last_error


def test_unreadable_prepared_file_is_rebuilt(storage: FileStorage, tmp_path: Path) -> None:
    manifest = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    _state(storage, tmp_path / "prep").refresh()
    (path,) = (tmp_path / "prep").glob("*.prep")
    path.write_bytes(path.read_bytes()[:100])
    other = _state(storage, tmp_path / "prep")
    other.refresh()
    assert served(other) == manifest.manifest_version
    assert path.stat().st_size > 100


def test_a_child_that_dies_is_a_load_failure_naming_how(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    killed = tmp_path / "killed-python"
    killed.write_text("#!/bin/sh\necho 'out of memory, say' >&2\nkill -9 $$\n")
    killed.chmod(0o755)
    monkeypatch.setattr("sys.executable", str(killed))
    state = _state(storage, tmp_path / "prep")
    state.refresh()
    entry = state.get("acme", "home")
    assert entry is not None and entry.loaded is None
    assert entry.last_error == (
        "LoaderDied: the loader process ended with signal 9: out of memory, say"
    )


def test_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    with pytest.raises(
        ConfigError, match=re.escape("must be a directory (not a link) of this user with mode 0700")
    ):
        private_directory(shared)
    assert private_directory(tmp_path / "fresh").stat().st_mode & 0o777 == 0o700


def test_errors_keep_their_domain_class() -> None:
    assert type(_failure({"type": "ArtifactError", "message": "m"})) is ArtifactError
    odd = _failure({"type": "OSError", "message": "disk"})
    assert getattr(odd, "reason", None) == "OSError"


def test_app_with_the_process_loader_serves_and_swaps(
    neighboured: FileStorage, client_for: ClientFactory, tmp_path: Path
) -> None:
    with client_for(loader="process", prepared_dir=tmp_path / "prep") as client:
        body = {"surface": "home", "session_items": ["demo-000"], "k": 5, "explain": True}
        first = client.post("/v1/recommend", json=body)
        assert first.status_code == 200, first.text
        assert {i["source"] for i in first.json()["items"]} >= {"cooc", "session_seq"}
        newer = publish_popularity(neighboured, "demo", "home", item_ids("new-", 9))
        serving_of(client).refresh()
        second = client.post("/v1/recommend", json={"surface": "home", "k": 3})
    assert second.headers["X-Model-Version"] == newer.manifest_version
    assert [i["item_id"] for i in second.json()["items"]] == item_ids("new-", 3)
    assert len(list((tmp_path / "prep").glob("demo.home.*.prep"))) == 2


SERVE_AND_LIST_MODULES = """
import json, sys
from pathlib import Path
from litestar.testing import TestClient
from recsys_algo.contracts.signing import parse_signing_keys
from recsys_service.app import create_app
from recsys_service.loader_spare import Children, Finished
from recsys_service.settings import Settings
import time
store, prep, spec, user, item = sys.argv[1:]
settings = Settings(storage_url=Path(store).as_uri(), signing_keys=parse_signing_keys(spec),
                    loader="process", prepared_dir=Path(prep))
calls = [
    ("post", "/v1/recommend", {"surface": "home", "k": 3}),
    ("post", "/v1/recommend", {"surface": "home", "user_id": user, "k": 60}),
    ("post", "/v1/recommend", {"surface": "home", "user_id": user, "explain": True}),
    ("post", "/v1/recommend", {"surface": "home", "session_items": [item], "exclude_seen": True}),
    ("post", "/v1/recommend", {"surface": "home", "blend_weights": {"cooc": 2.5}}),
    ("post", "/v1/recommend", {"surface": "home", "session_items": ["never-seen"]}),
    ("post", "/v1/recommend/batch", {"requests": [{"surface": "home"}, {"surface": "x"}]}),
    ("post", "/v1/similar", {"surface": "home", "item_id": item}),
    ("post", "/v1/similar", {"surface": "home", "item_id": item, "kind": "content"}),
    ("post", "/v1/events", {"events": [{"ts": int(time.time() * 1000), "item_id": item,
                                        "event_type": "click", "surface": "home"}]}),
]
with TestClient(create_app(settings)) as client:
    for method, path, body in calls:
        got = getattr(client, method)(path, json=body)
        assert got.status_code in (200, 202), (path, body, got.status_code, got.text)
    for path in ("/v1/popular?surface=home", "/v1/manifests/home", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path
heavy = ("polars", "pyarrow", "scipy", "sklearn", "implicit", "psycopg2", "duckdb", "dagster")
print(",".join(m for m in heavy if m in sys.modules))
"""


def test_a_serving_process_never_imports_the_build_libraries(tmp_path: Path) -> None:
    """Decoding and checks run in the loader child: a worker serving every route of a model of
    every kind stays ~110 MB lighter without polars, pyarrow, scipy and implicit."""
    storage = FileStorage(tmp_path / "store")
    blobs = list(synthetic_blobs())
    publish(
        storage, signing_keys(), tenant="demo", surface="home", as_of=AS_OF,
        window=Window(start="2026-11-14", end=AS_OF.isoformat(), days=7), blobs=blobs,
        lineage=Lineage(inputs={}, code_version="test", parameters={}), metrics={},
    )  # fmt: skip
    model = load_model(synthetic_tables(), {})
    assert model.collab is not None and model.kinds == KINDS
    user = next(iter(model.collab.user_rows))
    cooc = model.neighbors["cooc"]
    item = next(i for c, i in enumerate(model.vocab.ids) if cooc.has(c))
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_MODULES, str(storage.root), str(tmp_path / "p"),
         SIGNING_SPEC, user, item],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == ""


def test_the_configured_niceness_reaches_the_child_and_is_applied_first(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_popularity(storage, "acme", "home", item_ids("a", 5))
    seen: list[int] = []
    real_run = Children.run

    def spy(self: Children, request: bytes, timeout: float) -> Finished:
        seen.append(json.loads(request)["nice"])
        return real_run(self, request, timeout)

    monkeypatch.setattr(Children, "run", spy)
    loader = ProcessLoader(tmp_path / "prep", nice=7)
    ServingState(storage, signing_keys(), loader=loader).refresh()
    assert seen == [7]
    # The child applies it to itself before any work (a request it then refuses, here).
    calls: list[int] = []
    monkeypatch.setattr(loader_child.os, "nice", calls.append)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"nice": 7}')))
    assert loader_child.main() == 1
    assert calls == [7]


def test_a_prepared_directory_open_to_others_fails_the_start(
    storage: FileStorage, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "fresh-target", target_is_directory=True)
    (tmp_path / "fresh-target").mkdir(mode=0o700)
    for directory in (shared, link):
        with pytest.raises(ConfigError, match=r"must be a directory .*mode 0700"):
            create_app(make_settings(storage, loader="process", prepared_dir=directory))


def test_a_new_version_another_process_is_loading_is_left_for_the_next_poll(
    storage: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = publish_popularity(storage, "acme", "home", item_ids("a", 5))
    prep = tmp_path / "prep"
    state = _state(storage, prep)
    state.refresh()  # nothing served yet: this one would wait for another's load
    new = publish_scope(storage, "acme", "home", item_ids("b", 5), parameters={"v": 2})
    with (prep / "acme.home.lock").open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another worker building the new version
        monkeypatch.setattr(ProcessLoader, "_prepare", no_child)
        state.refresh()  # serving the old one: returns at once, no child, no error
        entry = state.get("acme", "home")
        assert entry is not None and entry.last_error is None
        assert served(state) == old.manifest_version
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    monkeypatch.undo()
    state.refresh()
    assert served(state) == new.manifest_version
