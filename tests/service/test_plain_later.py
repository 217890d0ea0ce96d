"""A new version is served as soon as its model is mapped; its plain answers follow in a file
of their own that the serving processes map at a later poll, with identical answers."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from recsys_algo.serving.recommender import BlendParams, Query
from recsys_algo.store.storage import FileStorage
from recsys_service import loader_child
from recsys_service.loaded_scope import LoadedScope
from recsys_service.loader_spare import Finished
from recsys_service.process_loader import ProcessLoader, _plain_written
from recsys_service.scope_sources import load_scope
from recsys_service.serving_state import ServingState
from tests.service.builders import SIGNING_SPEC, publish_synthetic, signing_keys


@pytest.fixture
def with_users(tmp_path: Path) -> FileStorage:
    storage = FileStorage(tmp_path / "store")
    publish_synthetic(storage)
    return storage


def loaded_of(state: ServingState) -> LoadedScope:
    entry = state.get("demo", "home")
    assert entry is not None and entry.loaded is not None, entry
    return entry.loaded


def plain_queries(loaded: LoadedScope) -> list[Query]:
    collab = loaded.model.collab
    assert collab is not None
    users = [None, "never-seen", *list(collab.user_rows)[:40]]
    return [Query(k=k, user_id=user) for user in users for k in (1, 7, 20)]


def plain_file_of(prep: Path, timeout: float = 60.0) -> Path:
    """The plain answers' file, once the child that reported the model has written it."""
    deadline = time.monotonic() + timeout
    while not (found := list(prep.glob("*.plain"))):
        assert time.monotonic() < deadline, "the loader child wrote no plain answers"
        time.sleep(0.05)
    (path,) = found
    return path


def answers(loaded: LoadedScope, blend: BlendParams) -> list[Any]:
    return [loaded.model.recommend(q, blend) for q in plain_queries(loaded)]


def test_the_child_reports_the_model_before_it_computes_the_plain_answers(
    with_users: FileStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    prep = tmp_path / "prep"
    prep.mkdir(mode=0o700)
    request = {"source": {"kind": "storage", "url": with_users.url}, "keys": SIGNING_SPEC,
               "tenant": "demo", "surface": "home", "directory": str(prep)}  # fmt: skip
    real = loader_child.plain_answers
    seen: dict[str, Any] = {}

    def spy(*args: Any) -> Any:
        # By now the model's file is written and reported: a serving process maps it already.
        (line,) = capsys.readouterr().out.splitlines()
        seen["first"] = json.loads(line)
        seen["files"] = sorted(p.suffix for p in prep.iterdir())
        return real(*args)

    monkeypatch.setattr(loader_child, "plain_answers", spy)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(request).encode())))
    monkeypatch.setattr(loader_child.os, "nice", lambda n: n)
    assert loader_child.main() == 0
    assert Path(seen["first"]["path"]).exists()
    assert seen["files"] == [".prep"]
    (last,) = capsys.readouterr().out.splitlines()
    assert Path(json.loads(last)["plain"]) == Path(seen["first"]["plain"])
    assert Path(seen["first"]["plain"]).exists()


def test_a_version_is_served_before_its_plain_answers_exist_and_answers_the_same(
    with_users: FileStorage, tmp_path: Path
) -> None:
    prep = tmp_path / "prep"
    first = ServingState(with_users, signing_keys(), loader=ProcessLoader(prep))
    first.refresh()
    plain_file = plain_file_of(prep)
    held = tmp_path / "held.plain"
    shutil.move(plain_file, held)  # as if its child were still computing the plain answers
    other = ServingState(with_users, signing_keys(), loader=ProcessLoader(prep))
    other.refresh()
    served = loaded_of(other)
    assert served.model.plain is None and served.pending is not None
    reference = load_scope(with_users, signing_keys(), "demo", "home", dt.datetime.now(dt.UTC))
    expected = answers(reference, reference.blend)
    assert answers(served, served.blend) == expected
    other.refresh()  # not there yet: the same version keeps serving, live
    assert loaded_of(other) is served
    shutil.move(held, plain_file)
    other.refresh()
    completed = loaded_of(other)
    assert completed.model.plain is not None and completed.pending is None
    assert completed.manifest == served.manifest and completed.token == served.token
    assert answers(completed, completed.blend) == expected
    assert answers(loaded_of(first), served.blend) == expected


def test_an_unreadable_plain_answers_file_leaves_the_version_answering_live(
    with_users: FileStorage, tmp_path: Path
) -> None:
    prep = tmp_path / "prep"
    ServingState(with_users, signing_keys(), loader=ProcessLoader(prep)).refresh()
    plain_file = plain_file_of(prep)
    plain_file.write_bytes(plain_file.read_bytes()[:50])
    other = ServingState(with_users, signing_keys(), loader=ProcessLoader(prep))
    other.refresh()
    served = loaded_of(other)
    assert served.model.plain is None and served.pending is None
    assert not plain_file.exists()
    reference = load_scope(with_users, signing_keys(), "demo", "home", dt.datetime.now(dt.UTC))
    assert answers(served, served.blend) == answers(reference, reference.blend)


def test_only_a_child_that_reported_its_model_is_warned_about_for_its_plain_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = Finished(1, b'{"type": "ArtifactError", "message": "digest"}\n', b"")
    died = Finished(-9, b'{"path": "/p/a.prep", "plain": "/p/a.plain"}\n', b"out of memory")
    done = Finished(0, b'{"path": "/p/a.prep"}\n{"plain": "/p/a.plain"}\n', b"")
    with caplog.at_level(logging.WARNING, logger="recsys_service.process_loader"):
        for finished in (refused, done):
            _plain_written(finished)
        assert caplog.messages == []  # the refusal is the load's failure, reported by it
        _plain_written(died)
    (message,) = caplog.messages
    assert "exit -9" in message and "answered live" in message and "out of memory" in message
