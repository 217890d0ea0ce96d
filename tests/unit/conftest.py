"""Shared unit-test fixtures: a tmp file:// storage and the test signing keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.storage import FileStorage
from tests.support.builders import signing_keys, tmp_storage


@pytest.fixture
def storage(tmp_path: Path) -> FileStorage:
    return tmp_storage(tmp_path)


@pytest.fixture
def keys() -> SigningKeys:
    return signing_keys()
