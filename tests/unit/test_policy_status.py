"""A scope's health for on-call: the worst problem decides the level and the exit code."""

from __future__ import annotations

import datetime as dt

import pytest

from recsys_algo.policy.status import EXIT_CODES, ScopeHealth, exit_code, judge_scope
from tests.unit.policy_values import PUBLISHED, serving

DAY = dt.date(2026, 11, 19)
LIMIT = dt.timedelta(hours=48)


def judge(**kwargs: object) -> ScopeHealth:
    values: dict[str, object] = {
        "serving": serving(DAY),
        "pointer_error": None,
        "hold": None,
        "last_run_status": "SUCCESS",
        "last_run_message": None,
        "now": PUBLISHED + dt.timedelta(hours=5),
        "max_age": LIMIT,
    }
    return judge_scope(**(values | kwargs))  # type: ignore[arg-type]


def test_a_fresh_unheld_scope_whose_last_run_succeeded_is_ok_with_its_ages() -> None:
    health = judge()
    assert (health.level, health.problems) == ("ok", ())
    # Published at 06:00 the day after as_of: 5 h ago; the data ends at midnight, 11 h ago.
    assert (health.age_hours, health.data_age_hours) == (5.0, 11.0)


@pytest.mark.parametrize(
    ("kwargs", "level", "problem"),
    [
        ({"hold": "held since …: bad model"}, "held", "held since …: bad model"),
        (
            {"now": PUBLISHED + dt.timedelta(hours=49)},
            "stale",
            "published 49.0 h ago, over the 48 h",
        ),
        ({"serving": None}, "stale", "nothing serves"),
        (
            {"last_run_status": "FAILURE", "last_run_message": "x: 0 events"},
            "failing",
            "FAILURE: x",
        ),
        ({"last_run_status": "CANCELED"}, "failing", "the last run ended CANCELED"),
        ({"serving": None, "pointer_error": "not valid JSON"}, "broken", "does not verify: not"),
    ],
)
def test_each_problem_sets_its_level(kwargs: dict[str, object], level: str, problem: str) -> None:
    health = judge(**kwargs)
    assert health.level == level
    assert any(problem in p for p in health.problems)


@pytest.mark.parametrize("status", ["STARTED", "QUEUED", "SUCCESS", None])
def test_a_run_in_progress_or_none_is_not_a_failure(status: str | None) -> None:
    assert judge(last_run_status=status).level == "ok"


def test_the_worst_problem_wins_and_every_problem_is_listed() -> None:
    health = judge(hold="held", last_run_status="FAILURE", now=PUBLISHED + dt.timedelta(hours=60))
    assert health.level == "failing"
    assert len(health.problems) == 3


def test_the_exit_code_is_the_worst_levels() -> None:
    assert exit_code([]) == 0
    assert exit_code(["ok", "held", "ok"]) == EXIT_CODES["held"] == 10
    assert exit_code(["held", "stale"]) == 11
    assert exit_code(["stale", "failing", "held"]) == 12
    assert exit_code(["failing", "broken"]) == 5
