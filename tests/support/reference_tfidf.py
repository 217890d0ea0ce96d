"""content_sim's TF-IDF as scikit-learn computed it before kinds/content_sim/tfidf.py: the
reference the replacement must equal bit for bit (kept for tests only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp


def _tfidf(docs: Sequence[Any], make: Callable[[], Any], n: int) -> sp.csr_matrix:
    from sklearn.preprocessing import normalize

    try:
        matrix = make().fit_transform(docs).tocsr()
    except ValueError as exc:  # empty vocabulary (no tokens anywhere)
        if "empty vocabulary" not in str(exc):
            raise
        return sp.csr_matrix((n, 0), dtype=np.float64)
    matrix = normalize(matrix).tocsr()
    matrix.sort_indices()
    return matrix


def _tags_as_tokens(tags: list[str]) -> list[str]:
    return sorted(set(tags))


def tag_rows(tags: Sequence[Sequence[str]], max_features: int) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return _tfidf(
        tags,
        lambda: TfidfVectorizer(
            analyzer=_tags_as_tokens, binary=True, max_features=max_features, dtype=np.float64
        ),
        len(tags),
    )


def title_rows(titles: Sequence[str], stop_words: str | None, max_features: int) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return _tfidf(
        titles,
        lambda: TfidfVectorizer(
            lowercase=True, stop_words=stop_words, max_features=max_features, dtype=np.float64
        ),
        len(titles),
    )
