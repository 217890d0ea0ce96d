"""The publish decision: the quality gate guards serving, backfills keep history, overrides
need a reason, lineage merges what every step staged, the signals database follows the pointer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo import CODE_VERSION
from recsys_algo.contracts.errors import ConcurrentPublishError, ConfigError, DataSourceError
from recsys_algo.contracts.hold import HOLD_RECORD, Hold, HoldState
from recsys_algo.contracts.manifest import Manifest, Window
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.staging import EvaluationReport, StagedMeta
from recsys_algo.evaluation.gate import GATE_METRIC
from recsys_algo.policy.publish import (
    GATE_NOT_APPLIED,
    SIGNALS_NOT_CONFIGURED,
    SIGNALS_NOT_SERVED,
    PublishOptions,
    decide_publish,
)
from tests.unit.policy_values import serving

DAY = dt.date(2026, 11, 20)
P = Partition("demo", "home", DAY)
MARGIN = 0.1


INPUTS = {"2026-11-20": "aa", "catalog": "cc"}
SERVING_NOTE = "20261120T060000000Z-00000000 (as_of {}) keeps serving"


def staged(name: str, omitted: str | None = None, **inputs: str) -> StagedMeta:
    return StagedMeta(
        kind=name,
        rows=0 if omitted else 3,
        schema_version=1,
        window_start="2026-11-14",
        window_end="2026-11-20",
        window_days=7,
        inputs=inputs or INPUTS,
        parameters={name: {"knob": 1}, "window_days": 7},
        metrics={f"{name}.rows": 0.0 if omitted else 3.0},
        omitted=omitted,
    )


STAGED = [staged("popularity"), staged("second")]


def evaluation(ndcg: float | None = 0.5, **inputs: str) -> EvaluationReport:
    metrics = {"users": 40.0} if ndcg is None else {"users": 40.0, GATE_METRIC: ndcg}
    return EvaluationReport(
        metrics=metrics,
        parameters={"evaluation": {"gate_margin": MARGIN}},
        inputs=inputs or INPUTS,
    )


def decide(
    candidate: float | None = 0.5,
    current: Manifest | None = None,
    signals: bool = False,
    staged_metas: list[StagedMeta] | None = None,
    own_canonical: str | None = None,
    hold: HoldState | None = None,
    **options: Any,
) -> Any:
    return decide_publish(
        P,
        STAGED if staged_metas is None else staged_metas,
        evaluation(candidate),
        current,
        PublishOptions(**options),
        gate_margin=MARGIN,
        signals_configured=signals,
        inputs=INPUTS,
        own_canonical=own_canonical,
        hold=hold,
    )


def test_first_publish_of_a_scope_passes_without_a_baseline_and_serves() -> None:
    decision = decide()
    assert decision.publish and decision.serve and decision.gate.passed
    assert decision.message == (
        f"demo/home 2026-11-20: quality gate passed: {GATE_METRIC}=0.5000; no published baseline"
    )


def test_a_blend_within_the_margin_of_the_serving_one_passes() -> None:
    assert decide(candidate=0.45, current=serving(DAY - dt.timedelta(days=1))).publish


def test_a_worse_blend_is_refused_with_a_message_saying_how_to_force_it() -> None:
    decision = decide(candidate=0.4, current=serving(DAY - dt.timedelta(days=1)))
    assert not decision.publish and not decision.gate.passed
    assert decision.message == (
        f"manifest for demo/home 2026-11-20: quality gate failed: {GATE_METRIC}=0.4000, "
        "published 0.5000, floor 0.4500 (margin 10%); nothing was published, "
        f"{SERVING_NOTE.format('2026-11-19')} (--override-quality-gate REASON, or the run "
        "config quality_override + override_reason, publishes anyway)"
    )


def test_an_override_with_a_reason_publishes_and_records_who_said_why() -> None:
    decision = decide(
        candidate=0.4,
        current=serving(DAY - dt.timedelta(days=1)),
        quality_override=True,
        override_reason="  new catalog (TICKET-42) ",
    )
    assert decision.publish and not decision.gate.passed
    assert decision.message.startswith("demo/home 2026-11-20: quality gate OVERRIDDEN: ")
    gate = decision.lineage.parameters["quality_gate"]
    assert gate["override"] is True and gate["passed"] is False
    assert gate["override_reason"] == "new catalog (TICKET-42)"


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_override_without_a_reason_is_a_config_error_naming_the_partition(reason: str) -> None:
    with pytest.raises(
        ConfigError,
        match=r"^manifest for demo/home 2026-11-20: quality_override needs an override_reason$",
    ):
        decide(quality_override=True, override_reason=reason)


def test_a_backfill_of_an_older_day_is_recorded_without_the_gate_and_does_not_serve() -> None:
    decision = decide(candidate=0.0, current=serving(DAY + dt.timedelta(days=1)))
    assert decision.publish and not decision.serve
    assert decision.gate.message == GATE_NOT_APPLIED


def test_a_rewind_to_an_older_day_serves_and_so_is_gated() -> None:
    decision = decide(candidate=0.0, current=serving(DAY + dt.timedelta(days=1)), allow_rewind=True)
    assert decision.serve and not decision.publish
    assert decision.lineage.parameters["allow_rewind"] is True


def test_a_rerun_of_the_serving_day_serves_and_is_gated() -> None:
    assert not decide(candidate=0.0, current=serving(DAY)).publish


def test_an_unmeasured_candidate_passes_only_when_nothing_measured_serves() -> None:
    decision = decide(candidate=None)
    assert decision.publish
    assert decision.gate.message.startswith(f"{GATE_METRIC} not measured (40 held-out users")


def test_an_unmeasured_candidate_is_held_when_the_serving_manifest_was_measured() -> None:
    decision = decide(candidate=None, current=serving(DAY - dt.timedelta(days=1)))
    assert not decision.publish
    assert decision.message.startswith(
        f"manifest for demo/home 2026-11-20: quality gate failed: {GATE_METRIC} not measured "
        "(40 held-out users) while the serving manifest measured 0.5000; nothing was "
        f"published, {SERVING_NOTE.format('2026-11-19')} (--override-quality-gate REASON"
    )
    overridden = decide(
        candidate=None,
        current=serving(DAY - dt.timedelta(days=1)),
        quality_override=True,
        override_reason="quiet day",
    )
    assert overridden.publish


def test_an_unmeasured_candidate_is_not_held_by_a_measurement_older_than_its_window() -> None:
    # A sparse log: the serving manifest measured the metric on a day before this window
    # (2026-11-14..20). Holding every later unmeasured day against it would serve it forever.
    decision = decide(candidate=None, current=serving(DAY - dt.timedelta(days=7)))
    assert decision.publish and decision.serve and decision.gate.passed
    assert decision.gate.message == (
        f"{GATE_METRIC} not measured (40 held-out users); the serving manifest measured 0.5000 "
        "on 2026-11-13, before this window (2026-11-14..2026-11-20): too old to hold this day "
        "back"
    )
    # Its last day inside the window: still held, as above.
    assert not decide(candidate=None, current=serving(DAY - dt.timedelta(days=6))).publish
    # A measured fall is evidence whatever the serving manifest's age.
    assert not decide(candidate=0.0, current=serving(DAY - dt.timedelta(days=30))).publish


def test_kinds_without_enough_data_are_left_out_with_their_reason_in_the_lineage() -> None:
    metas = [staged("popularity"), staged("second", omitted="0 sessions hold two items")]
    decision = decide(staged_metas=metas)
    assert decision.publish and decision.kinds == ("popularity",)
    assert decision.lineage.omitted_kinds == {"second": "0 sessions hold two items"}
    assert decision.omitted_note == "; left out: second (0 sessions hold two items)"


def test_without_popularity_nothing_is_published_as_a_data_condition() -> None:
    metas = [staged("popularity", omitted="no event with a positive weight"), staged("second")]
    with pytest.raises(DataSourceError) as info:
        decide(staged_metas=metas)
    assert str(info.value) == (
        "manifest for demo/home 2026-11-20: nothing to publish: popularity, which every "
        "manifest holds, has nothing to say: no event with a positive weight; nothing is "
        "served for demo/home yet"
    )


def test_artifacts_from_other_inputs_than_the_window_holds_are_refused_as_a_lost_race() -> None:
    other = {"2026-11-20": "bb", "catalog": "cc"}
    metas = [staged("popularity"), staged("second", **other)]
    with pytest.raises(ConcurrentPublishError) as info:
        decide(staged_metas=metas, current=serving(DAY - dt.timedelta(days=1)))
    assert str(info.value) == (
        "manifest for demo/home 2026-11-20: second were computed from other inputs than the "
        "window holds now (differing: 2026-11-20); another run of this partition changed "
        f"them; nothing was published, {SERVING_NOTE.format('2026-11-19')}; rerun"
    )


def test_a_run_whose_canonical_events_were_rewritten_by_another_run_loses() -> None:
    assert decide(own_canonical="aa").publish
    with pytest.raises(ConcurrentPublishError, match="rewritten by another run after this run"):
        decide(own_canonical="zz")


def test_lineage_merges_every_staged_step_then_the_evaluation() -> None:
    decision = decide()
    assert decision.lineage.inputs == {"2026-11-20": "aa", "catalog": "cc"}
    assert decision.lineage.code_version == CODE_VERSION
    parameters = decision.lineage.parameters
    assert parameters["popularity"] == parameters["second"] == {"knob": 1}
    assert parameters["evaluation"] == {"gate_margin": MARGIN}
    assert parameters["allow_rewind"] is False
    assert parameters["quality_gate"]["margin"] == MARGIN
    assert decision.metrics == {
        "popularity.rows": 3.0,
        "second.rows": 3.0,
        "users": 40.0,
        GATE_METRIC: 0.5,
    }
    assert decision.window == Window(start="2026-11-14", end="2026-11-20", days=7)


def test_the_evaluation_has_the_last_word_on_a_metric_a_step_also_staged() -> None:
    report = EvaluationReport(metrics={"popularity.rows": 7.0}, parameters={}, inputs=INPUTS)
    decision = decide_publish(
        P,
        STAGED,
        report,
        None,
        PublishOptions(),
        gate_margin=MARGIN,
        signals_configured=False,
        inputs=INPUTS,
    )
    assert decision.metrics["popularity.rows"] == 7.0


def test_the_signals_database_follows_the_pointer_only_when_configured() -> None:
    assert decide().signals_skipped(swapped=True) == SIGNALS_NOT_CONFIGURED
    configured = decide(signals=True)
    assert configured.signals_skipped(swapped=True) is None
    assert configured.signals_skipped(swapped=False) == SIGNALS_NOT_SERVED


@given(
    back=st.integers(-5, 5),
    candidate=st.floats(0, 1),
    baseline=st.floats(0, 1),
    rewind=st.booleans(),
)
def test_only_a_manifest_that_would_serve_can_be_refused(
    back: int, candidate: float, baseline: float, rewind: bool
) -> None:
    current = serving(DAY + dt.timedelta(days=back), ndcg=baseline)
    decision = decide(candidate=candidate, current=current, allow_rewind=rewind)
    assert decision.serve == (back <= 0 or rewind)
    if not decision.publish:
        assert decision.serve and candidate < baseline * (1 - MARGIN)


HELD = HoldState(
    hold=Hold(
        record=HOLD_RECORD,
        tenant="demo",
        surface="home",
        version="20261120T060000000Z-00000000",
        reason="bad model",
        by="oncall@host",
        at="2026-11-21T07:00:00.000Z",
        origin="recsys rollback",
    )
)


def test_a_held_scope_records_a_newer_day_in_history_without_serving_it() -> None:
    decision = decide(current=serving(DAY - dt.timedelta(days=1)), hold=HELD)
    assert decision.publish and not decision.serve and decision.hold.held
    assert decision.message == (
        f"demo/home 2026-11-20: quality gate passed: {GATE_METRIC}=0.5000, published 0.5000, "
        "floor 0.4500 (margin 10%); held: published to history, not served (held since "
        "2026-11-21T07:00:00.000Z by oncall@host (recsys rollback): bad model; serving "
        "20261120T060000000Z-00000000)"
    )


def test_a_held_scope_still_gates_what_would_have_served() -> None:
    decision = decide(candidate=0.1, current=serving(DAY - dt.timedelta(days=1)), hold=HELD)
    assert not decision.publish and not decision.gate.passed


def test_an_unreadable_hold_record_holds_all_the_same() -> None:
    broken = HoldState(error="registry/current/demo/home/hold.json: signature does not match")
    decision = decide(hold=broken)
    assert decision.publish and not decision.serve
    assert "hold record unreadable, counted as held" in decision.message


def test_without_a_hold_the_same_run_serves() -> None:
    assert decide(current=serving(DAY - dt.timedelta(days=1)), hold=HoldState()).serve


def with_recipe(meta: StagedMeta, scope_version: str | None) -> StagedMeta:
    recipe = {"default": None, "scope": scope_version}
    return msgspec.structs.replace(meta, parameters={**meta.parameters, "recipe": recipe})


def test_a_run_whose_steps_used_different_recipes_publishes_nothing() -> None:
    v1, v2 = "20261120T060000000Z-11111111", "20261120T070000000Z-22222222"
    report = evaluation()
    report = msgspec.structs.replace(
        report, parameters={**report.parameters, "recipe": {"default": None, "scope": v1}}
    )
    same = [with_recipe(meta, v1) for meta in STAGED]
    decision = decide_publish(
        P,
        same,
        report,
        None,
        PublishOptions(),
        gate_margin=MARGIN,
        signals_configured=False,
        inputs=INPUTS,
    )
    assert decision.lineage.parameters["recipe"] == {"default": None, "scope": v1}
    mixed = [with_recipe(STAGED[0], v1), with_recipe(STAGED[1], v2)]
    with pytest.raises(ConcurrentPublishError, match="the recipe changed during the run"):
        decide_publish(
            P,
            mixed,
            report,
            None,
            PublishOptions(),
            gate_margin=MARGIN,
            signals_configured=False,
            inputs=INPUTS,
        )
