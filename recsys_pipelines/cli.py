"""The `recsys` command line: generate, import, materialize, rollback, manifests, serve."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from recsys_algo.config import SharedEnv
from recsys_algo.contracts.errors import ConfigError, NotFoundError, RecsysError
from recsys_algo.contracts.names import check_name, parse_day
from recsys_algo.stages.rollback import rollback_scope
from recsys_algo.store import registry
from recsys_algo.store.storage import Storage, open_storage
from recsys_pipelines.cli_import import import_commands

F = TypeVar("F", bound=Callable[..., Any])
MAX_DAYS = 20_000


def _storage() -> Storage:
    return open_storage(SharedEnv.load().storage_url)


def handle_errors(fn: F) -> F:
    """One clear line and the documented exit code; a traceback only with --verbose."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RecsysError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
            raise
        except Exception as exc:
            _fail(f"unexpected {type(exc).__name__}: {exc}", 1)

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> None:
    if click.get_current_context().find_root().params.get("verbose"):
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _name(kind: str) -> Callable[[click.Context, click.Parameter, str], str]:
    def callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
        try:
            return check_name(kind, value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_day(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


tenant_option = click.option("--tenant", required=True, callback=_name("tenant"))
surface_option = click.option("--surface", required=True, callback=_name("surface"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", is_flag=True, help="Show tracebacks on errors.")
def main(verbose: bool) -> None:
    """Recommendation artifacts: build, publish, roll back and serve.

    Exit codes: 0 ok, 1 other error, 2 usage/config, 3 data source, 4 validation gate
    failed, 5 artifact/signature, 6 concurrent publish lost.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@main.command()
@click.option("--tenant", default="demo", show_default=True, callback=_name("tenant"))
@click.option("--surface", default="home", show_default=True, callback=_name("surface"))
@click.option("--start", default="2026-11-01", show_default=True, callback=_day)
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
@click.option("--tenant", default="movielens", show_default=True, callback=_name("tenant"))
@click.option("--surface", default="home", show_default=True, callback=_name("surface"))
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


for _command in import_commands(handle_errors, _name, _storage, _register):
    import_group.add_command(_command)


@main.command()
@tenant_option
@surface_option
@click.option("--date", "date_", callback=_day, help="One day, YYYY-MM-DD.")
@click.option("--start", callback=_day, help="First day of a range.")
@click.option("--end", callback=_day, help="Last day of a range (inclusive).")
@click.option("--allow-rewind", is_flag=True, help="Serve an older day than the one serving.")
@click.option(
    "--override-quality-gate",
    "override_reason",
    metavar="REASON",
    help="Publish even if offline quality dropped past the margin; REASON goes in the lineage.",
)
@click.option("--fail-fast", is_flag=True, help="Stop at the first day not published.")
@handle_errors
def materialize(
    tenant: str,
    surface: str,
    date_: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    allow_rewind: bool,
    override_reason: str | None,
    fail_fast: bool,
) -> None:
    """Run every asset for each day in order (in-process) and publish; one line per day, exit
    code the most serious met (docs/contracts.md)."""
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
    env = SharedEnv.load()
    keys = env.signing_keys()  # fail fast, before any work
    from tqdm import tqdm

    from recsys_pipelines.definitions import DAILY_JOB, build_definitions
    from recsys_pipelines.runner import dagster_instance, range_failure, register_scope, run_days

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
            if outcome.error is None or len(days) > 1:
                bar.write(outcome.line, file=sys.stderr)

        outcomes = run_days(
            job,
            instance,
            tenant,
            surface,
            days,
            allow_rewind,
            on_day=report,
            override_reason=override_reason,
            # One day: its error is the one line (and exit code) to show.
            fail_fast=fail_fast or len(days) == 1,
        )
    current = registry.read_current(open_storage(env.storage_url), keys, tenant, surface)
    if current is not None:
        m = current.manifest
        click.echo(f"serving {tenant}/{surface}: {m.manifest_version} (as_of {m.as_of})")
        for kind, ref in sorted(m.artifacts.items()):
            click.echo(f"  {kind}: sha256 {ref.sha256} rows {ref.rows}")
        for kind, why in sorted(m.lineage.omitted_kinds.items()):
            click.echo(f"  {kind}: left out: {why}")
    if failure := range_failure(outcomes):
        _fail(*failure)


@main.command()
@tenant_option
@surface_option
@click.option("--to", "to_version", help="Manifest version to serve (default: previous).")
@click.option("--reason", default="", help="Recorded in the audit record.")
@handle_errors
def rollback(tenant: str, surface: str, to_version: str | None, reason: str) -> None:
    """Serve an earlier verified manifest; writes an audit record. No retraining."""
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
    )
    before, after = outcome.before, outcome.after
    click.echo(
        f"rolled back {tenant}/{surface}: {before.manifest_version} -> "
        f"{after.manifest_version} (as_of {after.as_of})"
    )
    if outcome.signals != "not configured":
        click.echo(f"signals database: {outcome.signals}")


@main.command()
@tenant_option
@surface_option
@handle_errors
def manifests(tenant: str, surface: str) -> None:
    """Manifest history, newest first; '*' marks the one serving."""
    env = SharedEnv.load()
    keys, storage = env.signing_keys(), open_storage(env.storage_url)
    entries = registry.history(storage, keys, tenant, surface)
    if not entries:
        raise NotFoundError(f"{tenant}/{surface}: no manifests published")
    pointer = registry.read_pointer(storage, tenant, surface)
    serving = None
    if pointer is not None:
        import msgspec

        serving = msgspec.json.decode(pointer[0]).get("manifest_version")
    click.echo(f"{'':2}{'version':30} {'as_of':10}  {'created_at':24}  artifacts")
    for e in entries:
        mark = "*" if e.version == serving else " "
        if e.manifest is None:
            click.echo(f"{mark} {e.version:30} INVALID: {e.error}")
            continue
        m = e.manifest
        kinds = ",".join(f"{k}:{r.sha256[:12]}" for k, r in sorted(m.artifacts.items()))
        click.echo(f"{mark} {e.version:30} {m.as_of:10}  {m.created_at:24}  {kinds}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(host: str, port: int) -> None:
    """Run the HTTP service (recsys_service) in this process's place."""
    # The service is its own package and process; exec keeps the packages decoupled.
    argv = [sys.executable, "-m", "recsys_service", "--host", host, "--port", str(port)]
    os.execv(sys.executable, argv)  # noqa: S606 (fixed argv, no shell)


if __name__ == "__main__":
    main()
