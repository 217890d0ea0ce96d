"""`recsys status`: what serves for each scope, how old, held or not, the last run and its gates;
the exit code says the worst (policy.status), so cron jobs and probes can use it."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import click

from recsys_algo.config import PipelineEnv
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import scope_key
from recsys_algo.policy.status import exit_code, judge_scope
from recsys_algo.stages.status import StoredScope, known_scopes, read_scope
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli_manifests import gate_summary
from recsys_pipelines.cli_support import handle_errors, name_callback
from recsys_pipelines.run_history import LastRun, last_run

NO_INSTANCE = "no Dagster instance (DAGSTER_HOME unset): run history unknown"


def _scope_report(
    stored: StoredScope, run: LastRun | None, has_instance: bool, now: dt.datetime, max_age: Any
) -> dict[str, Any]:
    current = stored.pointer.current
    serving = current.manifest if current else None
    health = judge_scope(
        serving,
        stored.pointer.error,
        stored.hold.describe() if stored.hold.held else None,
        run.status if run else None,
        "; ".join(run.messages) if run else None,
        now,
        max_age,
    )
    newest = stored.newest
    return {
        "tenant": stored.tenant,
        "surface": stored.surface,
        "level": health.level,
        "problems": list(health.problems),
        "serving": None
        if serving is None
        else {
            "version": serving.manifest_version,
            "as_of": serving.as_of,
            "created_at": serving.created_at,
            "age_hours": health.age_hours,
            "data_age_hours": health.data_age_hours,
            "quality_gate": gate_summary(serving)["message"],
        },
        "pointer": {"state": stored.pointer.state, "error": stored.pointer.error},
        "hold": stored.hold.view(),
        "newest_recorded": None
        if newest is None
        else {
            "version": newest.version,
            "as_of": newest.manifest.as_of if newest.manifest else None,
            "serving": newest.version == stored.pointer.version,
            "error": newest.error,
        },
        "last_run": run.view() if run else (None if has_instance else NO_INSTANCE),
    }


@click.command()
@click.option("--tenant", callback=name_callback("tenant"), help="With --surface: one scope.")
@click.option("--surface", callback=name_callback("surface"), help="With --tenant: one scope.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@handle_errors
def status(tenant: str | None, surface: str | None, as_json: bool) -> None:
    """What serves per scope, its age and data age, hold, last run and gate messages.

    Exit 0 when every scope is ok; else the worst: 5 pointer broken, 12 last run failed,
    11 stale (nothing serves, or older than RECSYS_FRESHNESS_MAX_AGE_HOURS), 10 held.
    """
    if (tenant is None) != (surface is None):
        raise ConfigError("give both --tenant and --surface, or neither (every scope)")
    env = PipelineEnv.load()
    storage, keys = open_storage(env.storage_url), env.signing_keys()
    max_age = dt.timedelta(hours=env.freshness_max_age_hours)
    now = dt.datetime.now(dt.UTC)
    has_instance = bool(os.environ.get("DAGSTER_HOME", "").strip())
    from recsys_pipelines.runner import dagster_instance

    with dagster_instance() as instance:
        from recsys_pipelines.defs.partitions import SCOPES_PARTITION

        registered = instance.get_dynamic_partitions(SCOPES_PARTITION) if has_instance else []
        scopes = [(tenant, surface)] if tenant and surface else known_scopes(storage, registered)
        reports = [
            _scope_report(
                read_scope(storage, keys, t, s),
                last_run(instance, scope_key(t, s)) if has_instance else None,
                has_instance,
                now,
                max_age,
            )
            for t, s in scopes
        ]
    code = exit_code(r["level"] for r in reports)
    if as_json:
        document = {
            "checked_at": now.isoformat(timespec="seconds"),
            "max_age_hours": env.freshness_max_age_hours,
            "exit_code": code,
            "scopes": reports,
        }
        click.echo(json.dumps(document, indent=2))
    else:
        _print_text(reports, env.freshness_max_age_hours)
    if code:
        raise SystemExit(code)


def _print_text(reports: list[dict[str, Any]], max_age_hours: int) -> None:
    if not reports:
        click.echo("no scope is published, held or registered")
    for r in reports:
        serving = r["serving"]
        head = f"{r['tenant']}/{r['surface']}  {r['level'].upper()}"
        if serving is None:
            click.echo(f"{head}  nothing serves")
        else:
            click.echo(
                f"{head}  serving {serving['version']} (as_of {serving['as_of']}), published "
                f"{serving['age_hours']} h ago (limit {max_age_hours} h), data "
                f"{serving['data_age_hours']} h old"
            )
        for problem in r["problems"]:
            click.echo(f"  problem: {problem}")
        newest = r["newest_recorded"]
        if newest is not None and not newest["serving"]:
            where = f"{newest['version']} (as_of {newest['as_of']})"
            click.echo(f"  newest recorded, not serving: {where}")
        if serving is not None:
            click.echo(f"  quality gate of what serves: {serving['quality_gate']}")
        run = r["last_run"]
        if isinstance(run, dict):
            which = f"{run['job']} {run['run_id'][:8]}"
            click.echo(
                f"  last run: {run['date']} {run['status']} ended {run['ended_at']} ({which})"
            )
            for message in run["messages"]:
                click.echo(f"    {message}")
        else:
            click.echo(f"  last run: {run or 'none recorded'}")
