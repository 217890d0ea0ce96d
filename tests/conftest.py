"""Suite-wide setup: each test's tier marker comes from its folder.

Tiers (`pytest -m unit`, `-m "not integration"`, ...) are the folders under tests/; the
markers are registered, with what each tier needs, in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "service", "pipelines", "integration", "reliability", "deploy")


# tryfirst: the markers must be on the items before `-m` deselects, whatever the plugin order.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # Items from outside tests/ (a path given on the command line) are not the suite's.
        if item.path.resolve().is_relative_to(TESTS):
            item.add_marker(_tier_of(item))


def _tier_of(item: pytest.Item) -> str:
    parts = item.path.resolve().relative_to(TESTS).parts
    tier = parts[0] if len(parts) > 1 else ""
    if tier not in TIERS:
        raise pytest.UsageError(
            f"{item.nodeid}: not in a tier folder; put the test under tests/<tier>/, "
            f"one of {', '.join(TIERS)}"
        )
    # One scheme: a hand-written tier marker would make `-m <tier>` disagree with the folders.
    stray = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS} - {tier})
    if stray:
        raise pytest.UsageError(
            f"{item.nodeid}: in tests/{tier}/ but marked {', '.join(stray)}; the tier marker "
            "comes from the folder: move the test instead of marking it"
        )
    return tier
