"""The quality gate: the candidate's blend against the serving manifest's, on users and sessions.

Two metrics guard serving, each measured on its own held-out cases: blend NDCG@20 over held-out
users (GATE_METRIC) and blend MRR@20 over held-out session positions (SESSION_GATE_METRIC). A
metric counts only when its cases reach the evaluation's minimum; the message says how many
there were and how many it needs.

A metric blocks when it falls below the published value less the margin AND the fall is
larger than NOISE_Z standard errors of the difference (each side's standard error over its own
held-out cases, recorded beside the metric as `<name>_se@k`): two days of a stationary log
measured on a hundred cases differ by more than 10 % by chance alone. The session metric's
standard error is clustered by session (a session's positions move together: 270 positions
from 7 people are closer to 7 cases than to 270); the user metric's cases, one per user, are
independent. min_session_cases counts positions; the "not measured" message also names the
sessions they come from. An unmeasured metric is held against the serving manifest's
measurement only while that manifest's day lies inside the candidate's window; an older one
was measured on data the window no longer holds (a sparse log would otherwise serve it for
ever). Manifests recorded before
the standard errors were (no `_se` key) are compared by the margin alone.
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
# metric -> (the metrics key counting the clusters its cases come from, what a cluster is): a
# session's positions move together, so the count of positions says little without it.
CLUSTERS: Mapping[str, tuple[str, str]] = {SESSION_GATE_METRIC: ("sessions", "sessions")}
GATE_METRICS = tuple(CASES)
NOISE_Z = 2.0


def se_key(metric: str) -> str:
    """The key of a metric's standard error: blend.ndcg@20 -> blend.ndcg_se@20."""
    name, _, k = metric.rpartition("@")
    return f"{name}_se@{k}"


def _noise(metric: str, *sides: Mapping[str, float]) -> float | None:
    """NOISE_Z standard errors of the difference; None when a side did not record its own."""
    errors = [side.get(se_key(metric)) for side in sides]
    if any(e is None for e in errors):
        return None
    return float(NOISE_Z * sum(e * e for e in errors if e is not None) ** 0.5)


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
    if metric in CLUSTERS:
        cluster_key, clusters = CLUSTERS[metric]
        what += f" from {int(candidate.get(cluster_key, 0))} {clusters}"
    need = minimums.get(minimum)
    return f"{metric} not measured ({count} {what}" + (f", needs {need})" if need else ")")


def _check(
    metric: str,
    candidate: Mapping[str, float],
    published: Mapping[str, float] | None,
    margin: float,
    minimums: Mapping[str, int],
    stale: str | None,
) -> _Check | None:
    """One metric's verdict; None when neither side measured it (nothing to say)."""
    value = candidate.get(metric)
    baseline = None if published is None else published.get(metric)
    if value is None:
        if baseline is None:
            return None
        unmeasured = _not_measured(metric, candidate, minimums)
        if stale is not None:
            # Measured on data this window no longer holds: holding every later unmeasured day
            # against it would serve it forever on a sparse log.
            return _Check(
                True,
                f"{unmeasured}; the serving manifest measured {baseline:.4f} {stale}: too old "
                "to hold this day back",
                baseline,
                None,
            )
        # "Not measured" is no evidence either way: against a serving manifest that was
        # measured on this metric, on data the window still holds, it blocks (an override can
        # still publish).
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
    if value >= floor:
        return _Check(True, text, baseline, value)
    noise = None if published is None else _noise(metric, candidate, published)
    if noise is not None and baseline - value <= noise:
        text += (
            f"; the fall {baseline - value:.4f} is within noise ({NOISE_Z:g} s.e. = {noise:.4f})"
        )
        return _Check(True, text, baseline, value)
    return _Check(False, text, baseline, value)


def quality_gate(
    candidate: Mapping[str, float],
    published: Mapping[str, float] | None,
    margin: float,
    minimums: Mapping[str, int] | None = None,
    stale: str | None = None,
) -> GateDecision:
    """Compare each gate metric with the serving manifest's value; the gate passes when none
    fell below its floor and none the serving manifest measured went unmeasured (too few
    cases), unless that measurement is stale (the serving manifest's day lies before the
    candidate's window; stale says so, e.g. "on 2026-11-13, before this window (…)"): then an
    unmeasured metric passes, saying why. A measured fall blocks whatever the age. minimums
    (the evaluation parameters' min_users and min_session_cases) only make the "not measured"
    message name the need."""
    needs = minimums or {}
    checks = [
        c for m in GATE_METRICS if (c := _check(m, candidate, published, margin, needs, stale))
    ]
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
