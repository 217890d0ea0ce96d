"""The public data sets in ../shared/data (or $RECSYS_SHARED_DATA): found, or the test skips.

Their licences forbid redistribution: tests read them in place and never copy them, or anything
derived from them, into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
ML_LATEST_SMALL = "ml-latest-small"
ML_100K = "ml-100k"
DIGINETICA = "diginetica-sample"


def shared_data_root() -> Path:
    return Path(os.environ.get("RECSYS_SHARED_DATA") or REPOSITORY.parent / "shared" / "data")


def shared_data(name: str) -> Path:
    """The folder of one data set; skips the test, saying where it looked, when it is absent."""
    folder = shared_data_root() / name
    if not folder.is_dir():
        pytest.skip(f"public data set {name} is not at {folder} (set RECSYS_SHARED_DATA)")
    return folder
