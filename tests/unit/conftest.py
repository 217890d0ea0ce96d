"""Shared unit-test fixtures: a tmp file:// storage and the test signing keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys_algo.signing import SigningKeys
from recsys_algo.storage import FileStorage
from recsys_algo.testing import signing_keys, tmp_storage


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return tmp_storage(tmp_path)


@pytest.fixture
def keys() -> SigningKeys:
    return signing_keys()
