"""The `recsys` command line: generate, import, materialize, rollback, manifests, serve."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from recsys_algo.config import FIRST_DAY_ENV, PipelineEnv, SharedEnv
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import Partition
from recsys_algo.policy.landing import day_outside
from recsys_algo.stages.rollback import rollback_scope
from recsys_algo.store import registry
from recsys_algo.store.landing import first_landing_day
from recsys_algo.store.storage import Storage, open_storage
from recsys_pipelines import cli_gc, cli_manifests, cli_ops, cli_status
from recsys_pipelines.cli_import import import_commands
from recsys_pipelines.cli_recipe import recipe_group
from recsys_pipelines.cli_support import (
    RecsysGroup,
    by_option,
    day_option,
    handle_errors,
    name_callback,
    operator,
    surface_option,
    tenant_option,
    verbose,
    version_option,
)
from recsys_pipelines.local_defaults import apply_local_defaults

MAX_DAYS = 20_000


def _storage() -> Storage:
    return open_storage(SharedEnv.load().storage_url)


@click.group(cls=RecsysGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", is_flag=True, help="Show tracebacks on errors.")
def main(verbose: bool) -> None:
    """Recommendation artifacts: build, publish, roll back and serve.

    Exit codes: 0 ok, 1 other error, 2 usage/config, 3 data source, 4 validation gate
    failed, 5 artifact/signature, 6 concurrent publish lost.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@main.command()
@click.option("--tenant", default="demo", show_default=True, callback=name_callback("tenant"))
@click.option("--surface", default="home", show_default=True, callback=name_callback("surface"))
@click.option("--start", default="2026-11-01", show_default=True, callback=day_option)
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366))
@click.option(
    "--events-per-day", default=50_000, show_default=True, type=click.IntRange(1, 10_000_000)
)
@click.option("--seed", default=7, show_default=True, type=int)
@handle_errors
def generate(
    tenant: str, surface: str, start: dt.date, days: int, events_per_day: int, seed: int
) -> None:
    """Write a deterministic synthetic data set (landing files + catalog)."""
    from recsys_pipelines import sources

    storage = _storage()
    summary = sources.generate(storage, tenant, surface, start, days, events_per_day, seed)
    _register(tenant, surface)
    click.echo(summary)


@main.group(name="import")
def import_group() -> None:
    """Import public data sets as raw events."""


@import_group.command(name="movielens")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--tenant", default="movielens", show_default=True, callback=name_callback("tenant"))
@click.option("--surface", default="home", show_default=True, callback=name_callback("surface"))
@handle_errors
def import_movielens(path: Path, tenant: str, surface: str) -> None:
    """Import ml-latest-small or ml-100k from PATH (never commit the data)."""
    from recsys_pipelines import sources

    summary = sources.import_movielens(_storage(), path, tenant, surface)
    _register(tenant, surface)
    click.echo(summary)


def _register(tenant: str, surface: str) -> None:
    from recsys_pipelines.runner import dagster_instance, register_scope

    with dagster_instance() as instance:
        register_scope(instance, tenant, surface)
    # Days before the partitions' first date cannot be materialized: say so now, with the fix.
    first_landed = first_landing_day(_storage(), tenant, surface)
    first_day = PipelineEnv.load().first_day
    if first_landed is not None and first_landed < first_day:
        click.echo(
            f"warning: {tenant}/{surface} has landing files from {first_landed}, before the "
            f"partitions' first date {first_day}: set {FIRST_DAY_ENV}={first_landed} where "
            "the CLI and the code location run (and reload the code location) to process them",
            err=True,
        )


for _command in import_commands(handle_errors, name_callback, _storage, _register):
    import_group.add_command(_command)

main.add_command(recipe_group(handle_errors, name_callback, _storage))


@main.command()
@tenant_option
@surface_option
@click.option("--date", "date_", callback=day_option, help="One day, YYYY-MM-DD.")
@click.option("--start", callback=day_option, help="First day of a range.")
@click.option("--end", callback=day_option, help="Last day of a range (inclusive).")
@click.option("--allow-rewind", is_flag=True, help="Serve an older day than the one serving.")
@click.option(
    "--override-quality-gate",
    "override_reason",
    metavar="REASON",
    help="Publish even if offline quality dropped past the margin; REASON goes in the lineage.",
)
@handle_errors
def materialize(
    tenant: str,
    surface: str,
    date_: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    allow_rewind: bool,
    override_reason: str | None,
) -> None:
    """Run every asset for each day in order (in-process) and publish."""
    if (date_ is None) == (start is None and end is None) or (
        date_ is None and None in (start, end)
    ):
        raise click.UsageError("give either --date D or both --start D1 --end D2")
    first, last = (date_, date_) if date_ else (start, end)
    assert first is not None and last is not None
    if last < first:
        raise click.UsageError(f"--end {last} is before --start {first}")
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if override_reason is not None and not override_reason.strip():
        raise click.UsageError("--override-quality-gate needs a non-empty REASON")
    if len(days) > MAX_DAYS:
        raise click.UsageError(f"{len(days)} days requested, at most {MAX_DAYS}")
    from recsys_algo.stages.publish import check_serving_pointer
    from recsys_pipelines.defs.partitions import partition_days

    # Before any work: Dagster knows no partition for such a day (and would fail with exit 1).
    for day in (first, last):
        if (why := day_outside(day, partition_days(dt.datetime.now(dt.UTC)))) is not None:
            raise ConfigError(f"--date/--start/--end: {why}; nothing was run")
    env = SharedEnv.load()
    keys = env.signing_keys()  # fail fast, before any work
    # And a pointer that does not verify: the publish at the end of each day would refuse it.
    check_serving_pointer(open_storage(env.storage_url), keys, Partition(tenant, surface, first))
    from tqdm import tqdm

    from recsys_pipelines.definitions import DAILY_JOB, build_definitions
    from recsys_pipelines.runner import dagster_instance, register_scope, run_days

    # Built now, not at import: its resources name the variables this environment sets.
    job = build_definitions().resolve_job_def(DAILY_JOB)
    with (
        dagster_instance() as instance,
        tqdm(
            total=len(days),
            unit="day",
            desc=f"{tenant}/{surface}",
            file=sys.stderr,
            disable=None,
        ) as bar,
    ):
        register_scope(instance, tenant, surface)

        def report(outcome: Any) -> None:
            bar.update(1)
            bar.write(
                f"{outcome.day}  {outcome.manifest_version}  {outcome.message}", file=sys.stderr
            )

        run_days(
            job,
            instance,
            tenant,
            surface,
            days,
            allow_rewind,
            on_day=report,
            override_reason=override_reason,
            # Dagster's console log (a page per failed step, with its traceback) only with
            # --verbose: without it each day is one line and a failure one `error:` line.
            console_log_level="DEBUG" if verbose() else "CRITICAL",
        )
    current = registry.read_current(open_storage(env.storage_url), keys, tenant, surface)
    if current is not None:
        m = current.manifest
        click.echo(f"serving {tenant}/{surface}: {m.manifest_version} (as_of {m.as_of})")
        for kind, ref in sorted(m.artifacts.items()):
            click.echo(f"  {kind}: sha256 {ref.sha256} rows {ref.rows}")


@main.command()
@tenant_option
@surface_option
@click.option(
    "--to",
    "to_version",
    callback=version_option,
    help="Manifest version to serve (default: previous).",
)
@click.option("--reason", default="", help="Recorded in the audit and hold records.")
@click.option(
    "--hold/--no-hold",
    default=True,
    show_default=True,
    help="Hold the scope at the version rolled back to: later runs publish to history only, "
    "until `recsys release`.",
)
@by_option
@handle_errors
def rollback(
    tenant: str, surface: str, to_version: str | None, reason: str, hold: bool, by: str | None
) -> None:
    """Serve an earlier verified manifest and hold it there; audit records. No retraining."""
    env = SharedEnv.load()
    keys = env.signing_keys()
    outcome = rollback_scope(
        open_storage(env.storage_url),
        keys,
        tenant,
        surface,
        to_version,
        reason=reason or "recsys rollback",
        signals_dsn=env.signals_dsn,
        hold_by=(by or operator()) if hold else None,
        origin="recsys rollback",
    )
    after = outcome.after
    click.echo(
        f"rolled back {tenant}/{surface}: {outcome.from_label} -> "
        f"{after.manifest_version} (as_of {after.as_of})"
    )
    if outcome.hold is not None:
        click.echo(
            f"held: later runs publish to history, not served, until "
            f"`recsys release --tenant {tenant} --surface {surface}`"
        )
    if outcome.signals != "not configured":
        click.echo(f"signals database: {outcome.signals}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(host: str, port: int) -> None:
    """Run the HTTP service (recsys_service) in this process's place."""
    # The service is its own package and process; exec keeps the packages decoupled.
    argv = [sys.executable, "-m", "recsys_service", "--host", host, "--port", str(port)]
    os.execv(sys.executable, argv)  # noqa: S606 (fixed argv, no shell)


for _command in [*cli_ops.COMMANDS, cli_manifests.manifests, cli_status.status, cli_gc.gc]:
    main.add_command(_command)


def _terminated(signum: int, frame: object) -> None:
    # As Ctrl-C: the run in progress is marked failed and the program exits 130, one line.
    raise KeyboardInterrupt


def run() -> None:
    """The `recsys` program: a checkout's local defaults (saying which), then the command."""
    signal.signal(signal.SIGTERM, _terminated)
    note = apply_local_defaults(os.environ, Path.cwd())
    if note is not None:
        click.echo(note, err=True)
    main()


if __name__ == "__main__":
    run()
