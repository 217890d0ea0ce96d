"""The quality gate: the candidate's blend against the serving manifest's, on users and sessions.

Two metrics guard serving, each measured on its own held-out cases: blend NDCG@20 over held-out
users (GATE_METRIC) and blend MRR@20 over held-out session positions (SESSION_GATE_METRIC). A
metric counts only when its cases reach the evaluation's minimum; the message says how many
there were and how many it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

GATE_METRIC = "blend.ndcg@20"
SESSION_GATE_METRIC = "blend.session_mrr@20"
# metric -> (the metrics key counting its cases, what a case is, the EvalParams minimum's name)
CASES: Mapping[str, tuple[str, str, str]] = {
    GATE_METRIC: ("users", "held-out users", "min_users"),
    SESSION_GATE_METRIC: ("session_cases", "held-out session positions", "min_session_cases"),
}
GATE_METRICS = tuple(CASES)


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    message: str
    baseline: float | None  # of the first metric compared (users before sessions)
    value: float | None


@dataclass(frozen=True)
class _Check:
    passed: bool
    text: str
    baseline: float | None
    value: float | None


def _not_measured(metric: str, candidate: Mapping[str, float], minimums: Mapping[str, int]) -> str:
    key, what, minimum = CASES[metric]
    count = int(candidate.get(key, 0))
    need = minimums.get(minimum)
    return f"{metric} not measured ({count} {what}" + (f", needs {need})" if need else ")")


def _check(
    metric: str,
    candidate: Mapping[str, float],
    published: Mapping[str, float] | None,
    margin: float,
    minimums: Mapping[str, int],
) -> _Check | None:
    """One metric's verdict; None when neither side measured it (nothing to say)."""
    value = candidate.get(metric)
    baseline = None if published is None else published.get(metric)
    if value is None:
        if baseline is None:
            return None
        # "Not measured" is no evidence either way: against a serving manifest that was
        # measured on this metric it blocks (an override can still publish).
        unmeasured = _not_measured(metric, candidate, minimums)
        return _Check(
            False,
            f"{unmeasured} while the serving manifest measured {baseline:.4f}",
            baseline,
            None,
        )
    if baseline is None:
        return _Check(True, f"{metric}={value:.4f}; no published baseline", None, value)
    floor = baseline * (1 - margin)
    text = (
        f"{metric}={value:.4f}, published {baseline:.4f}, floor {floor:.4f} (margin {margin:.0%})"
    )
    return _Check(value >= floor, text, baseline, value)


def quality_gate(
    candidate: Mapping[str, float],
    published: Mapping[str, float] | None,
    margin: float,
    minimums: Mapping[str, int] | None = None,
) -> GateDecision:
    """Compare each gate metric with the serving manifest's value; the gate passes when none
    fell below its floor and none the serving manifest measured went unmeasured (too few
    cases). minimums (the evaluation parameters' min_users and min_session_cases) only make
    the "not measured" message name the need."""
    needs = minimums or {}
    checks = [c for m in GATE_METRICS if (c := _check(m, candidate, published, margin, needs))]
    if not checks:
        text = "; ".join(_not_measured(metric, candidate, needs) for metric in GATE_METRICS)
        return GateDecision(True, text, None, None)
    compared = next((c for c in checks if c.value is not None), checks[0])
    return GateDecision(
        all(c.passed for c in checks),
        "; ".join(c.text for c in checks),
        compared.baseline,
        compared.value,
    )
