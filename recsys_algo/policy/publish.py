"""Whether, and how, a partition's manifest is published: the one function is decide_publish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recsys_algo import CODE_VERSION
from recsys_algo.contracts.errors import ConcurrentPublishError, ConfigError, DataSourceError
from recsys_algo.contracts.hold import HELD_MESSAGE, HoldState
from recsys_algo.contracts.manifest import Lineage, Manifest, Window, may_replace_serving
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.recipe import LINEAGE_KEY
from recsys_algo.contracts.staging import EvaluationReport, StagedMeta
from recsys_algo.evaluation.gate import GateDecision, quality_gate
from recsys_algo.kinds.kind import POPULARITY
from recsys_algo.policy.gates import keeps_serving

# A backfill of an older day keeps history only; serving (what the gate guards) stays.
GATE_NOT_APPLIED = "not applied: an older day is recorded, not served"
SIGNALS_NOT_CONFIGURED = "not configured"
SIGNALS_NOT_SERVED = "not written: this manifest is recorded, not served"


@dataclass(frozen=True)
class PublishOptions:
    """What the run asks for (the manifest asset's run config)."""

    allow_rewind: bool = False
    quality_override: bool = False
    override_reason: str = ""


@dataclass(frozen=True)
class PublishDecision:
    publish: bool  # False: the quality gate failed and nobody overrode it; write nothing
    serve: bool  # the pointer may move here: nothing newer serves (or a rewind), no hold
    gate: GateDecision
    message: str  # one line: the gate's outcome, or why nothing is published
    window: Window
    lineage: Lineage
    metrics: dict[str, float]
    signals_configured: bool
    kinds: tuple[str, ...]  # the kinds the manifest holds, in staged order
    hold: HoldState = field(default_factory=HoldState)  # held: history only, no pointer move

    @property
    def omitted(self) -> dict[str, str]:
        """Kinds left out because their inputs fell short, with the reason (in the lineage)."""
        return self.lineage.omitted_kinds

    @property
    def omitted_note(self) -> str:
        """`; left out: cooc (why), ...` or nothing."""
        if not self.omitted:
            return ""
        return "; left out: " + "; ".join(f"{k} ({why})" for k, why in self.omitted.items())

    def signals_skipped(self, swapped: bool) -> str | None:
        """None: mirror to the signals database now; else why it is not written.

        The database follows the pointer, so this asks whether the registry actually swapped
        (it checks again against the pointer it reads at the swap), not whether it might.
        """
        if not self.signals_configured:
            return SIGNALS_NOT_CONFIGURED
        return None if swapped else SIGNALS_NOT_SERVED


def _merged(
    staged: Sequence[StagedMeta], evaluation: EvaluationReport
) -> tuple[dict[str, Any], dict[str, float]]:
    """Parameters and metrics of every staged kind, then the evaluation's."""
    parameters: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    for meta in staged:
        parameters.update(meta.parameters)
        metrics.update(meta.metrics)
    parameters.update(evaluation.parameters)
    metrics.update(evaluation.metrics)
    return parameters, metrics


def _differing(found: Mapping[str, str], inputs: Mapping[str, str]) -> str:
    keys = sorted(k for k in {*found, *inputs} if found.get(k) != inputs.get(k))
    return ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def check_same_inputs(
    p: Partition,
    staged: Sequence[StagedMeta],
    evaluation: EvaluationReport,
    inputs: Mapping[str, str],
    own_canonical: str | None,
    note: str,
) -> None:
    """Every staged kind and the evaluation were computed from `inputs` (what the window holds
    now), and the partition day's canonical events are the ones this run wrote (when it wrote
    them); else ConcurrentPublishError: another run of the partition changed them meanwhile."""
    parts: list[tuple[str, Mapping[str, str]]] = [(m.kind, m.inputs) for m in staged]
    parts.append(("evaluation", evaluation.inputs))
    mixed = [(name, found) for name, found in parts if dict(found) != dict(inputs)]
    if mixed:
        names = ", ".join(name for name, _ in mixed)
        raise ConcurrentPublishError(
            f"manifest for {p.label}: {names} were computed from other inputs than the window "
            f"holds now (differing: {_differing(mixed[0][1], inputs)}); another run of this "
            f"partition changed them; nothing was published, {note}; rerun"
        )
    day = p.day.isoformat()
    if own_canonical is not None and inputs.get(day) != own_canonical:
        raise ConcurrentPublishError(
            f"manifest for {p.label}: the canonical events of {day} were rewritten by another "
            f"run after this run wrote them ({own_canonical[:12]}…, now "
            f"{str(inputs.get(day))[:12]}…); publishing would serve that run's model, not this "
            f"one's; nothing was published, {note}; rerun"
        )


def _check_one_recipe(
    p: Partition, staged: Sequence[StagedMeta], evaluation: EvaluationReport
) -> None:
    """Every step of the run built with the same recipe versions: a recipe set while the run
    went on (the tuning job, say) must not give a manifest mixing two parameter sets."""
    used = {meta.kind: meta.parameters.get(LINEAGE_KEY) for meta in staged}
    used["evaluation"] = evaluation.parameters.get(LINEAGE_KEY)
    if len({repr(v) for v in used.values()}) > 1:
        seen = "; ".join(f"{step} {value}" for step, value in sorted(used.items()))
        raise ConcurrentPublishError(
            f"manifest for {p.label}: the recipe changed during the run ({seen}); nothing was "
            "published: rerun the day to build every step with the current recipe"
        )


def decide_publish(
    p: Partition,
    staged: Sequence[StagedMeta],
    evaluation: EvaluationReport,
    serving: Manifest | None,
    options: PublishOptions,
    *,
    gate_margin: float,
    signals_configured: bool,
    inputs: Mapping[str, str],
    own_canonical: str | None = None,
    hold: HoldState | None = None,
) -> PublishDecision:
    """Decide from what was staged and evaluated, what serves now and what the run asks.

    inputs: what the window and catalog hold now; every staged kind and the evaluation must
    come from exactly these (own_canonical: the partition day this run wrote, if it did), else
    ConcurrentPublishError. Kinds whose inputs fell short are left out, their reasons in the
    lineage; without popularity nothing is published (DataSourceError). The quality gate guards
    serving: a backfill of an older day (without allow_rewind) is recorded without it. A failed
    gate refuses the publish unless the run overrides it with a reason; the override and the
    reason go into the lineage. A quality_override without a reason is a ConfigError. While
    the scope is held (a hold record, or one that does not verify) a run that would serve is
    gated as usual and recorded in history, not served.
    """
    hold = hold or HoldState()
    if options.quality_override and not options.override_reason.strip():
        raise ConfigError(f"manifest for {p.label}: quality_override needs an override_reason")
    note = keeps_serving(
        f"{p.tenant}/{p.surface}",
        serving.manifest_version if serving else None,
        serving.as_of if serving else None,
    )
    if not staged:
        raise DataSourceError(f"manifest for {p.label}: no staged artifacts to publish; {note}")
    _check_one_recipe(p, staged, evaluation)
    check_same_inputs(p, staged, evaluation, inputs, own_canonical, note)
    omitted = {m.kind: m.omitted for m in staged if m.omitted is not None}
    if POPULARITY in omitted:
        raise DataSourceError(
            f"manifest for {p.label}: nothing to publish: {POPULARITY}, which every manifest "
            f"holds, has nothing to say: {omitted[POPULARITY]}; {note}"
        )
    serving_as_of = serving.as_of if serving is not None else None
    would_serve = may_replace_serving(p.day.isoformat(), serving_as_of, options.allow_rewind)
    serve = would_serve and not hold.held
    first = staged[0]
    if would_serve:
        baseline = serving.metrics if serving is not None else None
        stale = (
            f"on {serving.as_of}, before this window ({first.window_start}..{first.window_end})"
            if serving is not None and serving.as_of < first.window_start
            else None
        )
        gate = quality_gate(
            evaluation.metrics,
            baseline,
            gate_margin,
            evaluation.parameters.get("evaluation"),
            stale,
        )
    else:
        gate = GateDecision(True, GATE_NOT_APPLIED, None, None)
    publish = gate.passed or options.quality_override
    if not publish:
        message = (
            f"manifest for {p.label}: quality gate failed: {gate.message}; nothing was "
            f"published, {note} (--override-quality-gate REASON, or the run config "
            "quality_override + override_reason, publishes anyway)"
        )
    else:
        verdict = "passed" if gate.passed else "OVERRIDDEN"
        message = f"{p.label}: quality gate {verdict}: {gate.message}"
        if would_serve and hold.held:
            message = f"{message}; {HELD_MESSAGE} ({hold.describe()})"
    parameters, metrics = _merged(staged, evaluation)
    parameters["quality_gate"] = {
        "passed": gate.passed,
        "message": gate.message,
        "margin": gate_margin,
        "override": options.quality_override,
        "override_reason": options.override_reason.strip(),
    }
    return PublishDecision(
        publish=publish,
        serve=serve,
        gate=gate,
        message=message,
        window=Window(start=first.window_start, end=first.window_end, days=first.window_days),
        lineage=Lineage(
            inputs=dict(sorted(inputs.items())),
            code_version=CODE_VERSION,
            parameters={**parameters, "allow_rewind": options.allow_rewind},
            omitted_kinds=omitted,
        ),
        metrics=metrics,
        signals_configured=signals_configured,
        kinds=tuple(m.kind for m in staged if m.omitted is None),
        hold=hold,
    )
