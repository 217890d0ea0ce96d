"""Suite-wide setup: the hypothesis profiles, and each test's tier marker from its folder.

Tiers (`pytest -m unit`, `-m "not integration"`, ...) are the folders under tests/; the
markers are registered, with what each tier needs, in pyproject.toml. HYPOTHESIS_PROFILE picks
the profile: `dev` (the default) or `ci` (what `make test` sets).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "service", "pipelines", "integration", "reliability", "deploy")

# Registered here, before pytest imports any test module: an @settings(...) decorator takes the
# values it leaves unset from the profile loaded when the decorator runs.
settings.register_profile(
    "ci",
    # The same examples on every run and every machine, so a CI failure reproduces; nothing is
    # replayed from a database that a fresh checkout would not have.
    derandomize=True,
    max_examples=100,
    # Timing on a shared CI machine is noise: a slow example or strategy must not fail the build.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # A failure prints the @reproduce_failure blob to replay it locally.
    print_blob=True,
)
settings.register_profile(
    "dev",
    # Random, and fewer examples than CI for a quicker inner loop; failures found are kept in
    # one ignored folder at the top of the checkout (whatever the working directory) and
    # replayed first on the next run.
    max_examples=30,
    database=DirectoryBasedExampleDatabase(TESTS.parent / ".hypothesis" / "examples"),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


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
