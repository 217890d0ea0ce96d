"""What a rollback does, given what serves and what was asked: move the pointer, write the DB.

Which version is the target (the asked one, else the serving manifest's previous_version) and
the refusals (nothing published, no previous version, already serving) are decided by
store.rollback.rollback against the pointer it swaps, so no second reading can disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RollbackPlan:
    move_pointer: bool  # False: the target serves already; only the signals database is written
    write_signals: bool  # the database follows the object store, after it


def plan_rollback(
    serving_version: str | None, to_version: str | None, signals_configured: bool
) -> RollbackPlan:
    """The object store is the source of truth and moves first; a signals database follows.

    Asking for the version that already serves repairs the database when one is configured
    (its write failed after an earlier rollback moved the pointer); without one there is
    nothing to do, and the registry refuses it as "already serving".
    """
    repair = signals_configured and to_version is not None and to_version == serving_version
    return RollbackPlan(move_pointer=not repair, write_signals=signals_configured)
