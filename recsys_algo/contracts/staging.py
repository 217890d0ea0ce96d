"""What a partition's steps leave in staging/ for publish: each artifact's metadata and the
evaluation report (JSON beside the staged bytes), in the staged set of the inputs and
parameters they were computed from (layout.staged_set_key)."""

from __future__ import annotations

from typing import Any

import msgspec


class StagedMeta(msgspec.Struct, frozen=True, kw_only=True):
    """What publish needs to know about a staged artifact besides its bytes."""

    kind: str
    rows: int
    schema_version: int
    window_start: str
    window_end: str
    window_days: int
    inputs: dict[str, str]
    parameters: dict[str, Any]
    metrics: dict[str, float]
    omitted: str | None = None  # the kind was left out (no bytes staged): why


class EvaluationReport(msgspec.Struct, frozen=True, kw_only=True):
    """Staged by the evaluation step, read by publish: offline metrics of this partition."""

    metrics: dict[str, float]
    parameters: dict[str, Any]
    inputs: dict[str, str] = msgspec.field(default_factory=dict)  # what the window held
