"""content_sim's own TF-IDF equals scikit-learn's bit for bit, and so do its artifacts.

scikit-learn is the reference here (tests/support/reference_tfidf.py: the code content_sim
ran before): random corpora, then whole content_sim artifacts on the synthetic catalogs and on
the MovieLens catalogs of ../shared/data (skipped when absent).
"""

from __future__ import annotations

import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.catalog import CATALOG_SCHEMA
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.kinds.content_sim import tfidf
from recsys_algo.kinds.content_sim.similarity import ContentSimParams, compute_content_sim
from recsys_algo.kinds.content_sim.stop_words import ENGLISH_STOP_WORDS
from recsys_algo.sources.movielens.files import load_movielens
from recsys_algo.sources.synthetic.generator import generate_catalog
from tests.support import reference_tfidf as reference
from tests.support.shared_data import ML_100K, ML_LATEST_SMALL, shared_data

# Words that collide in interesting ways: stop words, case and accents, digits, one letter
# (dropped by the token pattern), and repeats across items.
_WORDS = ["the", "and", "The", "Alpha", "alpha", "ÉCOLE", "école", "Straße", "x", "42", "a1", "ÆON"]
_SIGMAS = "\u03a3\u03c3\u03c2"  # capital, small and final sigma: lower() depends on context
_word = st.one_of(st.sampled_from(_WORDS), st.text(alphabet="abcé_1 -" + _SIGMAS, max_size=6))
_tags = st.lists(st.lists(_word.filter(bool), max_size=5), min_size=1, max_size=30)
_titles = st.lists(st.lists(_word, max_size=8).map(" ".join), min_size=1, max_size=30)
_max_features = st.sampled_from([1, 2, 3, 5, 200_000])


def assert_same(ours: sp.csr_matrix, theirs: sp.csr_matrix) -> None:
    """Same matrix class, shape, index dtypes, structure and value bits."""
    assert type(ours) is type(theirs)
    assert ours.shape == theirs.shape
    assert ours.indices.dtype == theirs.indices.dtype
    assert ours.indptr.dtype == theirs.indptr.dtype
    assert ours.indptr.tolist() == theirs.indptr.tolist()
    assert ours.indices.tolist() == theirs.indices.tolist()
    assert ours.data.tobytes() == theirs.data.tobytes()


def test_stop_words_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN_STOP_WORDS

    assert ENGLISH_STOP_WORDS == SKLEARN_STOP_WORDS


@settings(max_examples=300, deadline=None)
@given(tags=_tags, max_features=_max_features)
def test_tag_rows_equal_scikit_learns_bit_for_bit(tags: list[list[str]], max_features: int) -> None:
    assert_same(tfidf.tag_rows(tags, max_features), reference.tag_rows(tags, max_features))


@settings(max_examples=300, deadline=None)
@given(
    titles=_titles,
    stop_words=st.sampled_from(["english", None]),
    max_features=_max_features,
)
def test_title_rows_equal_scikit_learns_bit_for_bit(
    titles: list[str], stop_words: str | None, max_features: int
) -> None:
    assert_same(
        tfidf.title_rows(titles, stop_words, max_features),
        reference.title_rows(titles, stop_words, max_features),
    )


def test_norm_sums_follow_the_order_terms_were_first_seen_in() -> None:
    # Found by search: summing a row's squares in column (alphabetical) order gives other bits
    # for these titles, and so does reading each item's tags unsorted for these tags.
    titles = ["mid zeta beta", "beta"]
    assert_same(tfidf.title_rows(titles, None, 100), reference.title_rows(titles, None, 100))
    tags = [["kappa", "omega", "mid"], ["omega"]]
    assert_same(tfidf.tag_rows(tags, 100), reference.tag_rows(tags, 100))


def test_corpus_without_tokens_gives_zero_columns() -> None:
    for ours, theirs in (
        (tfidf.title_rows(["a", "the", ""], "english", 10), (3, 0)),
        (tfidf.tag_rows([[], []], 10), (2, 0)),
    ):
        assert ours.shape == theirs
        assert ours.nnz == 0


def test_unknown_stop_words_are_refused() -> None:
    with pytest.raises(ValueError, match="'german'"):
        tfidf.title_rows(["x"], "german", 10)


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"item_id": r["item_id"], "tags": r["tags"], "title": r.get("title")} for r in rows],
        schema={k: v for k, v in CATALOG_SCHEMA.items() if k != "surface"},
    )


def _artifact_bytes(catalog: pl.DataFrame) -> bytes:
    blob = encode_artifact(compute_content_sim(catalog, ContentSimParams()), "content_sim", 1)
    assert blob.rows > 0
    return blob.data


def _assert_artifact_unchanged(catalog: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _artifact_bytes(catalog)
    with monkeypatch.context() as patch:
        patch.setattr(tfidf, "tag_rows", reference.tag_rows)
        patch.setattr(tfidf, "title_rows", reference.title_rows)
        theirs = _artifact_bytes(catalog)
    assert ours == theirs


@pytest.mark.parametrize(
    ("items", "clusters"), [(2_000, 20), (5_000, 50), (50_000, 20)], ids=["demo", "issue18", "50k"]
)
def test_content_sim_artifact_is_byte_identical_on_synthetic_catalogs(
    items: int, clusters: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_artifact_unchanged(_frame(generate_catalog(7, items, clusters)), monkeypatch)


@pytest.mark.parametrize("name", [ML_LATEST_SMALL, ML_100K])
def test_content_sim_artifact_is_byte_identical_on_movielens_catalogs(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_movielens(shared_data(name)).catalog.select("item_id", "tags", "title")
    _assert_artifact_unchanged(catalog, monkeypatch)
