"""`recsys manifests`: a scope's history with what serves, its hold, gates and metrics.

Diagnoses instead of trusting: a pointer or history record that does not verify is shown as
such (and the command exits 5 after listing everything), never a crash.
"""

from __future__ import annotations

import json
from typing import Any

import click

from recsys_algo.config import SharedEnv
from recsys_algo.contracts.errors import ArtifactError, NotFoundError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.policy.publish import GATE_NOT_APPLIED
from recsys_algo.store import holds, registry
from recsys_algo.store.pointer import pointer_state
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli_support import handle_errors, surface_option, tenant_option


def gate_summary(manifest: Manifest) -> dict[str, Any]:
    """The quality gate's verdict as recorded in the manifest's lineage."""
    gate = manifest.lineage.parameters.get("quality_gate")
    if not isinstance(gate, dict):
        return {"verdict": "unknown", "message": "no quality gate recorded"}
    if gate.get("message") == GATE_NOT_APPLIED:
        verdict = "not applied"
    elif gate.get("passed"):
        verdict = "passed"
    else:
        verdict = "overridden" if gate.get("override") else "failed"
    return {"verdict": verdict, **gate}


def manifest_summary(manifest: Manifest) -> dict[str, Any]:
    return {
        "as_of": manifest.as_of,
        "created_at": manifest.created_at,
        "previous_version": manifest.previous_version,
        "window": {"start": manifest.window.start, "end": manifest.window.end},
        "artifacts": {
            kind: {"sha256": ref.sha256, "rows": ref.rows, "bytes": ref.bytes}
            for kind, ref in sorted(manifest.artifacts.items())
        },
        "quality_gate": gate_summary(manifest),
        "allow_rewind": bool(manifest.lineage.parameters.get("allow_rewind", False)),
        "metrics": dict(sorted(manifest.metrics.items())),
    }


@click.command()
@tenant_option
@surface_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document: gates and metrics too.")
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=None, help="Only the newest N records."
)
@handle_errors
def manifests(tenant: str, surface: str, as_json: bool, limit: int | None) -> None:
    """Manifest history, newest first; '*' marks the one serving, the hold is shown first."""
    env = SharedEnv.load()
    keys, storage = env.signing_keys(), open_storage(env.storage_url)
    pointer = pointer_state(storage, keys, tenant, surface)
    hold = holds.read_hold_state(storage, keys, tenant, surface)
    entries = registry.history(storage, keys, tenant, surface, limit)
    if not entries and pointer.state == "missing":
        raise NotFoundError(f"{tenant}/{surface}: no manifests published")
    serving = pointer.version
    records = []
    for e in entries:
        record: dict[str, Any] = {
            "version": e.version,
            "serving": e.version == serving,
            "valid": e.manifest is not None,
            "error": e.error,
        }
        if e.manifest is not None:
            record.update(manifest_summary(e.manifest))
        records.append(record)
    if as_json:
        document = {
            "tenant": tenant,
            "surface": surface,
            "serving": serving,
            "pointer": {"state": pointer.state, "error": pointer.error},
            "hold": hold.view(),
            "manifests": records,
        }
        click.echo(json.dumps(document, indent=2))
    else:
        _print_text(hold.describe() if hold.held else None, pointer.error, records)
    if pointer.error is not None:
        raise ArtifactError(
            f"{tenant}/{surface}: the pointer does not verify ({pointer.error}); nothing "
            "trustworthy serves: `recsys rollback --to VERSION` with a valid version above"
        )


def _print_text(held: str | None, pointer_error: str | None, records: list[dict[str, Any]]) -> None:
    if held is not None:
        click.echo(f"HELD: {held}")
    if pointer_error is not None:
        click.echo(f"POINTER BROKEN: {pointer_error}")
    click.echo(f"{'':2}{'version':30} {'as_of':10}  {'created_at':24}  {'gate':11}  artifacts")
    for r in records:
        mark = "*" if r["serving"] else " "
        if not r["valid"]:
            click.echo(f"{mark} {r['version']:30} INVALID: {r['error']}")
            continue
        kinds = ",".join(f"{k}:{a['sha256'][:12]}" for k, a in r["artifacts"].items())
        gate = r["quality_gate"]["verdict"]
        when = f"{r['as_of']:10}  {r['created_at']:24}"
        click.echo(f"{mark} {r['version']:30} {when}  {gate:11}  {kinds}")
