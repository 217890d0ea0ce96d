"""What a rollback does: the pointer moves first; a signals database follows, or is repaired."""

from __future__ import annotations

from recsys_algo.policy.rollback import RollbackPlan, plan_rollback

V1, V2 = "20261101T060000000Z-00000001", "20261102T060000000Z-00000002"


def test_without_a_signals_database_a_rollback_moves_the_pointer_only() -> None:
    assert plan_rollback(V2, V1, False) == RollbackPlan(move_pointer=True, write_signals=False)
    # The registry refuses "already serving"; the plan does not hide that.
    assert plan_rollback(None, V2, False).move_pointer


def test_with_a_signals_database_the_database_follows_the_pointer() -> None:
    assert plan_rollback(V2, V1, True) == RollbackPlan(move_pointer=True, write_signals=True)
    assert plan_rollback(V2, None, True) == RollbackPlan(move_pointer=True, write_signals=True)


def test_asking_for_the_serving_version_with_a_database_repairs_only_the_database() -> None:
    assert plan_rollback(V2, V2, True) == RollbackPlan(move_pointer=False, write_signals=True)
