"""The rollback job, launched with run config as an operator would from the UI."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import msgspec
import pytest

from recsys_algo.store import history, registry
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines


def _three_versions(env: Env) -> list[str]:
    versions = []
    for i in range(3):
        day = DAY0 + dt.timedelta(days=i)
        env.write_day(day, event_lines(day, 30, offset=i))
        versions.append(env.run(day).manifest_version or "")
    return versions


def _launch(env: Env, job_name: str, **config: object) -> dg.ExecuteInProcessResult:
    job = env.definitions().resolve_job_def(job_name)
    op = f"{job_name}_manifest"
    return job.execute_in_process(
        run_config={"ops": {op: {"config": {"tenant": TENANT, "surface": SURFACE, **config}}}},
        instance=env.instance,
        raise_on_error=False,
    )


def _rollback(env: Env, **config: object) -> bool:
    return _launch(env, "rollback", **config).success


def _serving(env: Env) -> str:
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None
    return current.manifest.manifest_version


def test_rollback_job_serves_the_previous_version_and_writes_an_audit_record(env: Env) -> None:
    _, v2, v3 = _three_versions(env)
    assert _rollback(env, reason="bad model")
    assert _serving(env) == v2
    audits = env.storage.list(f"registry/{TENANT}/{SURFACE}/audit")
    assert sorted(a.rsplit("-", 1)[1] for a in audits) == ["hold.json", "rollback.json"]
    [rolled] = [a for a in audits if a.endswith("-rollback.json")]
    record = msgspec.json.decode(env.storage.read_bytes(rolled))
    assert (record["from_version"], record["to_version"], record["reason"]) == (v3, v2, "bad model")


def test_rollback_job_serves_an_explicit_version(env: Env) -> None:
    v1, _, _ = _three_versions(env)
    assert _rollback(env, to_version=v1)
    assert _serving(env) == v1


@pytest.mark.parametrize("to_version", ["20990101T000000000Z-deadbeef", "../../etc"])
def test_rollback_job_fails_for_unknown_or_malformed_versions_and_keeps_serving(
    env: Env, to_version: str
) -> None:
    *_, v3 = _three_versions(env)
    assert not _rollback(env, to_version=to_version)
    assert _serving(env) == v3


def test_rollback_job_refuses_a_target_whose_artifact_was_tampered(env: Env) -> None:
    v1, _, v3 = _three_versions(env)
    manifest = history.read_version(env.storage, env.keys, TENANT, SURFACE, v1)[0]
    uri = manifest.artifacts["popularity"].uri
    data = bytearray(env.storage.read_bytes(uri))
    data[-20] ^= 0xFF
    env.storage.delete(uri)
    env.storage.write_bytes(uri, bytes(data))
    assert not _rollback(env, to_version=v1)
    assert _serving(env) == v3


def _observed(
    result: dg.ExecuteInProcessResult,
) -> tuple[dict[str, object], dg.AssetCheckEvaluation]:
    """The observation the job logged on `manifest` and the hold check's verdict it logged."""
    [observation] = [
        e.event_specific_data.asset_observation  # type: ignore[union-attr]
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    ]
    [check] = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    assert observation.asset_key == dg.AssetKey("manifest")
    metadata = {k: getattr(v, "value", v) for k, v in observation.metadata.items()}
    return metadata, check  # type: ignore[return-value]


def test_rollback_job_holds_and_tells_the_catalog_what_serves(env: Env) -> None:
    _, v2, v3 = _three_versions(env)
    result = _launch(env, "rollback", reason="bad model")
    assert result.success
    metadata, check = _observed(result)
    assert metadata["serving_version"] == v2 and metadata["held"] is True
    assert (metadata["from_version"], metadata["to_version"]) == (v3, v2)
    assert metadata["hold"]["version"] == v2
    assert metadata["hold"]["reason"] == "bad model"
    assert check.check_name == "manifest_not_held" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.partition == f"{(DAY0 + dt.timedelta(days=1)).isoformat()}|{TENANT}.{SURFACE}"

    # The next day's run: recorded in history, not served; its metadata says so.
    day = DAY0 + dt.timedelta(days=3)
    env.write_day(day, event_lines(day, 30, offset=3))
    outcome = env.run(day)
    assert not outcome.serving and outcome.message.startswith("held: published to history")
    assert _serving(env) == v2

    released = _launch(env, "release", reason="fixed")
    assert released.success
    metadata, check = _observed(released)
    assert metadata["held"] is False and check.passed
    assert env.run(day).serving


def test_rollback_job_without_hold_and_the_hold_job(env: Env) -> None:
    _, v2, _ = _three_versions(env)
    assert _rollback(env, hold=False)
    assert not env.storage.exists(f"registry/current/{TENANT}/{SURFACE}/hold.json")
    held = _launch(env, "hold", reason="investigating")
    assert held.success
    metadata, check = _observed(held)
    assert (metadata["serving_version"], metadata["held"]) == (v2, True)
    assert "investigating" in (check.description or "")
