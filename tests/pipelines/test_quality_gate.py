"""The offline quality gate in the real job: a worse blend is not published unless overridden."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.evaluation.gate import GATE_METRIC
from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.serving.recommender import KINDS
from recsys_algo.store import history, registry
from recsys_pipelines.defs.resources import PipelineSettings
from tests.pipelines.conftest import DAY0, SMALL_DATA_PARAMS, SURFACE, TENANT, Env, event_lines

DAY1 = DAY0 + dt.timedelta(days=1)


def two_days(env: Env) -> None:
    env.write_day(DAY0, event_lines(DAY0, 150))
    env.write_day(DAY1, event_lines(DAY1, 150, offset=5))


def publish_baseline(env: Env, ndcg: float) -> str:
    """Republish what serves with a recorded blend NDCG@20 of our choosing (the baseline)."""
    loaded = registry.load_verified(env.storage, env.keys, TENANT, SURFACE)
    assert loaded is not None
    current, blobs = loaded
    m = current.manifest
    outcome = registry.publish(
        env.storage,
        env.keys,
        tenant=TENANT,
        surface=SURFACE,
        as_of=dt.date.fromisoformat(m.as_of),
        window=m.window,
        blobs=[
            ArtifactBlob(kind, blobs[kind], ref.rows, ref.schema_version)
            for kind, ref in m.artifacts.items()
        ],
        lineage=m.lineage,
        metrics={**m.metrics, GATE_METRIC: ndcg},
    )
    return outcome.manifest.manifest_version


def test_every_kind_is_published_with_offline_metrics(env: Env) -> None:
    two_days(env)
    env.run(DAY0)
    env.run(DAY1)
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None
    m = current.manifest
    assert set(m.artifacts) == set(KINDS)
    assert m.metrics["users"] >= 2
    for source in (*KINDS, "blend"):
        for name in ("recall@10", "ndcg@20", "mrr@20", "coverage@20", "next_hit@20"):
            assert 0.0 <= m.metrics[f"{source}.{name}"] <= 1.0
    gate = m.lineage.parameters["quality_gate"]
    assert gate["passed"] and not gate["override"]
    assert m.lineage.parameters["blend"]["weights"]["popularity"] > 0


def test_gate_blocks_a_worse_blend_and_keeps_serving_the_baseline(env: Env) -> None:
    two_days(env)
    env.run(DAY0)
    baseline = publish_baseline(env, ndcg=1.0)  # nothing real can be within 10% of 1.0 here
    with pytest.raises(ValidationGateError, match=r"quality gate failed: blend\.ndcg@20="):
        env.run(DAY1)
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None and current.manifest.manifest_version == baseline


def test_override_publishes_and_records_who_said_why(env: Env) -> None:
    two_days(env)
    env.run(DAY0)
    baseline = publish_baseline(env, ndcg=1.0)
    outcome = env.run(DAY1, override_reason="new catalog, metrics reset (TICKET-42)")
    assert outcome.serving
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None
    assert current.manifest.previous_version == baseline
    gate = current.manifest.lineage.parameters["quality_gate"]
    assert gate["passed"] is False
    assert gate["override"] is True
    assert gate["override_reason"] == "new catalog, metrics reset (TICKET-42)"
    assert "published 1.0000" in gate["message"]


def test_a_wider_margin_lets_the_same_drop_through(env: Env) -> None:
    two_days(env)
    env.run(DAY0)
    publish_baseline(env, ndcg=1e-9)  # any measured value beats this
    overrides = json.loads(SMALL_DATA_PARAMS)
    overrides["evaluation"]["gate_margin"] = 0.5
    env.settings = PipelineSettings(model_params=json.dumps(overrides))
    assert env.run(DAY1).serving


def test_override_without_a_reason_is_refused(env: Env) -> None:
    two_days(env)
    with pytest.raises(ConfigError, match="quality_override needs an override_reason"):
        env.run(DAY0, override_reason="  ")


def test_backfill_of_an_older_day_is_recorded_without_the_gate_but_rewind_is_gated(
    env: Env,
) -> None:
    two_days(env)
    day2 = DAY1 + dt.timedelta(days=1)
    env.write_day(day2, event_lines(day2, 150, offset=9))
    for day in (DAY0, DAY1, day2):
        env.run(day)
    serving = publish_baseline(env, ndcg=1.0)
    outcome = env.run(DAY1)  # history only: the gate guards serving, and serving stays
    assert not outcome.serving
    assert outcome.manifest_version is not None
    record, _ = history.read_version(
        env.storage, env.keys, TENANT, SURFACE, outcome.manifest_version
    )
    assert "not applied" in record.lineage.parameters["quality_gate"]["message"]
    with pytest.raises(ValidationGateError, match="quality gate failed"):
        env.run(DAY1, allow_rewind=True)
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None and current.manifest.manifest_version == serving
