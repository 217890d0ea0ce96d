"""The rollback job, launched with run config as an operator would from the UI."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from recsys_algo.store import registry
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines


def _three_versions(env: Env) -> list[str]:
    versions = []
    for i in range(3):
        day = DAY0 + dt.timedelta(days=i)
        env.write_day(day, event_lines(day, 30, offset=i))
        versions.append(env.run(day).manifest_version or "")
    return versions


def _rollback(env: Env, **config: object) -> bool:
    job = env.definitions().resolve_job_def("rollback")
    result = job.execute_in_process(
        run_config={
            "ops": {
                "rollback_manifest": {"config": {"tenant": TENANT, "surface": SURFACE, **config}}
            }
        },
        instance=env.instance,
        raise_on_error=False,
    )
    return result.success


def _serving(env: Env) -> str:
    current = registry.read_current(env.storage, env.keys, TENANT, SURFACE)
    assert current is not None
    return current.manifest.manifest_version


def test_rollback_job_serves_the_previous_version_and_writes_an_audit_record(env: Env) -> None:
    _, v2, v3 = _three_versions(env)
    assert _rollback(env, reason="bad model")
    assert _serving(env) == v2
    audits = env.storage.list(f"registry/{TENANT}/{SURFACE}/audit")
    assert len(audits) == 1
    record = msgspec.json.decode(env.storage.read_bytes(audits[0]))
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
    manifest = registry.read_version(env.storage, env.keys, TENANT, SURFACE, v1)[0]
    uri = manifest.artifacts["popularity"].uri
    data = bytearray(env.storage.read_bytes(uri))
    data[-20] ^= 0xFF
    env.storage.delete(uri)
    env.storage.write_bytes(uri, bytes(data))
    assert not _rollback(env, to_version=v1)
    assert _serving(env) == v3
