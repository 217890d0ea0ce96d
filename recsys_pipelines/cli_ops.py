"""On-call commands of the `recsys` CLI: hold and release a scope."""

from __future__ import annotations

import click

from recsys_algo.config import SharedEnv
from recsys_algo.stages.holds import hold_scope, release_scope
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli_support import (
    by_option,
    handle_errors,
    operator,
    surface_option,
    tenant_option,
    version_option,
)


@click.command()
@tenant_option
@surface_option
@click.option("--reason", required=True, help="Why: shown wherever the hold is (status, UI, HTTP).")
@by_option
@handle_errors
def hold(tenant: str, surface: str, reason: str, by: str | None) -> None:
    """Pin what serves: runs publish to history and do not serve until `recsys release`."""
    env = SharedEnv.load()
    outcome = hold_scope(
        open_storage(env.storage_url),
        env.signing_keys(),
        tenant,
        surface,
        reason=reason,
        by=by or operator(),
        origin="recsys hold",
    )
    click.echo(outcome.message)


@click.command()
@tenant_option
@surface_option
@click.option(
    "--to",
    "to_version",
    callback=version_option,
    help="Also serve this recorded version now (roll forward), e.g. one published while held.",
)
@click.option("--reason", default="", help="Recorded in the audit record.")
@by_option
@handle_errors
def release(tenant: str, surface: str, to_version: str | None, reason: str, by: str | None) -> None:
    """End a hold: the next run serves again (or serve a recorded version now with --to)."""
    env = SharedEnv.load()
    who = by or operator()
    outcome = release_scope(
        open_storage(env.storage_url),
        env.signing_keys(),
        tenant,
        surface,
        to_version,
        reason=reason or f"recsys release by {who}",
        by=who,
        origin="recsys release",
        signals_dsn=env.signals_dsn,
    )
    click.echo(outcome.message(tenant, surface))


COMMANDS = [hold, release]
