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
        users = int(candidate.get("users", 0))
        return GateDecision(
            True, f"{GATE_METRIC} not measured ({users} held-out users)", baseline, None
        )
    if baseline is None:
        return GateDecision(True, f"{GATE_METRIC}={value:.4f}; no published baseline", None, value)
    floor = baseline * (1 - margin)
    text = (
        f"{GATE_METRIC}={value:.4f}, published {baseline:.4f}, "
        f"floor {floor:.4f} (margin {margin:.0%})"
    )
    return GateDecision(value >= floor, text, baseline, value)
