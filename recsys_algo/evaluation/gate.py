"""The quality gate: the candidate's blend NDCG@20 against the serving manifest's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

GATE_METRIC = "blend.ndcg@20"


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    message: str
    baseline: float | None
    value: float | None


def quality_gate(
    candidate: Mapping[str, float], published: Mapping[str, float] | None, margin: float
) -> GateDecision:
    """Compare the candidate's blend NDCG@20 with the serving manifest's recorded value."""
    value = candidate.get(GATE_METRIC)
    baseline = None if published is None else published.get(GATE_METRIC)
    if value is None:
        # "Not measured" is no evidence either way: it passes only when nothing serving was
        # measured on the metric either; against a measured baseline it blocks.
        users = int(candidate.get("users", 0))
        unmeasured = f"{GATE_METRIC} not measured ({users} held-out users)"
        if baseline is None:
            return GateDecision(True, f"{unmeasured}; no measured baseline", None, None)
        return GateDecision(
            False,
            f"{unmeasured} while the serving manifest measured {baseline:.4f}",
            baseline,
            None,
        )
    if baseline is None:
        return GateDecision(True, f"{GATE_METRIC}={value:.4f}; no published baseline", None, value)
    floor = baseline * (1 - margin)
    text = (
        f"{GATE_METRIC}={value:.4f}, published {baseline:.4f}, "
        f"floor {floor:.4f} (margin {margin:.0%})"
    )
    return GateDecision(value >= floor, text, baseline, value)
