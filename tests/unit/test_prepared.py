"""Prepared files: a model written as arrays and mapped back answers exactly as the built one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.kinds.kind import KINDS
from recsys_algo.loading.model import load_model
from recsys_algo.serving.model_file import (
    model_arrays,
    model_from_arrays,
    read_prepared,
    write_prepared,
)
from recsys_algo.serving.recommender import BlendParams, Query, ScopeModel
from recsys_algo.serving.similar import SIMILAR_KINDS, similar_items
from tests.support.models import synthetic_tables


@pytest.fixture(scope="module")
def built() -> ScopeModel:
    return load_model(synthetic_tables(), {"implicit": {"regularization": 0.07, "alpha": 15.0}})


def mapped_copy(model: ScopeModel, path: Path) -> ScopeModel:
    description, arrays = model_arrays(model)
    write_prepared(path, {"model": description, "note": "é"}, arrays)
    prepared = read_prepared(path)
    assert prepared.meta["note"] == "é"
    return model_from_arrays(prepared.meta["model"], prepared.arrays)


def queries(model: ScopeModel) -> list[Query]:
    assert model.collab is not None
    users = list(model.collab.user_rows)
    items = model.vocab.ids
    return [
        *(Query(k=10, user_id=u) for u in users[:20]),
        Query(k=7, user_id=users[0], exclude=frozenset(items[:30])),
        Query(k=10, session_items=tuple(items[3:9])),  # fold-in and every neighbour kind
        Query(k=10, user_id="stranger", session_items=(items[5], "ghost")),
        Query(k=200),
    ]


def test_mapped_model_answers_every_query_like_the_built_one(
    built: ScopeModel, tmp_path: Path
) -> None:
    mapped = mapped_copy(built, tmp_path / "v.prep")
    assert mapped.kinds == built.kinds == KINDS
    params = BlendParams()
    for query in queries(built):
        assert mapped.recommend(query, params) == built.recommend(query, params)
        explained = mapped.fuse(mapped.candidates(query, params), query.k, params, explain=True)
        reference = built.fuse(built.candidates(query, params), query.k, params, explain=True)
        assert np.array_equal(explained.terms, reference.terms)
    for kind, artifacts in SIMILAR_KINDS.items():
        index = built.neighbors[artifacts[0]]
        code = next(c for c in range(len(built.vocab)) if index.has(c))
        item = built.vocab.ids[code]
        found = [similar_items(m, item, kind, 5, frozenset(), params) for m in (built, mapped)]
        assert found[0] and found[0] == found[1]


def test_mapped_arrays_are_read_only_views_of_the_file(built: ScopeModel, tmp_path: Path) -> None:
    mapped = mapped_copy(built, tmp_path / "v.prep")
    assert not mapped.popular_items.codes.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        mapped.popular_items.scores[0] = 1.0
    (tmp_path / "v.prep").unlink()  # a mapping outlives its file's name
    assert mapped.popular(3) == built.popular(3)


def test_rewrite_of_the_same_model_gives_identical_bytes(built: ScopeModel, tmp_path: Path) -> None:
    mapped_copy(built, tmp_path / "a.prep")
    mapped_copy(built, tmp_path / "b.prep")
    assert (tmp_path / "a.prep").read_bytes() == (tmp_path / "b.prep").read_bytes()
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary name is gone after the rename


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda b: b[:10], "truncated"),
        (lambda b: b"XXXXXXXX" + b[8:], "not a prepared file"),
        (lambda b: b[:8] + (10**6).to_bytes(8, "little") + b[16:], "header is unreadable"),
        (lambda b: b[: len(b) // 2], "runs past the end"),
    ],
)
def test_damaged_file_is_refused_with_its_reason(
    built: ScopeModel, tmp_path: Path, damage: object, needle: str
) -> None:
    path = tmp_path / "v.prep"
    mapped_copy(built, path)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(ArtifactError, match=needle):
        read_prepared(path)
