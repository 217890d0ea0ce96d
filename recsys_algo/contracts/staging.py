"""What a partition's steps leave in staging/ for publish: each artifact's metadata and the
evaluation report (JSON beside the staged bytes; see layout.staging_key)."""

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


class EvaluationReport(msgspec.Struct, frozen=True, kw_only=True):
    """Staged by the evaluation step, read by publish: offline metrics of this partition."""

    metrics: dict[str, float]
    parameters: dict[str, Any]
