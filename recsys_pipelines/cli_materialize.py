"""`recsys materialize`: every asset of each day in order, in-process, one line per day; the
exit code is the most serious a day met (docs/contracts.md)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import click

from recsys_algo.config import SharedEnv
from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.names import Partition
from recsys_algo.policy.landing import day_outside
from recsys_algo.store import registry
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli_support import (
    day_option,
    fail,
    handle_errors,
    surface_option,
    tenant_option,
    verbose,
)

MAX_DAYS = 20_000


@click.command()
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
    from recsys_algo.stages.publish import check_serving_pointer
    from recsys_pipelines.defs.partitions import partition_days

    # Before any work: Dagster knows no partition for such a day (and would fail with exit 1).
    for day in (first, last):
        if (why := day_outside(day, partition_days(dt.datetime.now(dt.UTC)))) is not None:
            raise ConfigError(f"--date/--start/--end: {why}; nothing was run")
    env = SharedEnv.load()
    keys = env.signing_keys()  # fail fast, before any work
    storage = open_storage(env.storage_url)
    # And a pointer that does not verify: the publish at the end of each day would refuse it.
    check_serving_pointer(storage, keys, Partition(tenant, surface, first))
    from tqdm import tqdm

    from recsys_algo.stages.ingest import landing_missing
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
            # Dagster's console log (a page per failed step, with its traceback) only with
            # --verbose: without it each day is one line and a failure one `error:` line.
            console_log_level="DEBUG" if verbose() else "CRITICAL",
            # One day: its error is the one line (and exit code) to show.
            fail_fast=fail_fast or len(days) == 1,
            no_data=lambda day: landing_missing(storage, Partition(tenant, surface, day)),
        )
    current = registry.read_current(storage, keys, tenant, surface)
    if current is not None:
        m = current.manifest
        click.echo(f"serving {tenant}/{surface}: {m.manifest_version} (as_of {m.as_of})")
        for kind, ref in sorted(m.artifacts.items()):
            click.echo(f"  {kind}: sha256 {ref.sha256} rows {ref.rows}")
        for kind, why in sorted(m.lineage.omitted_kinds.items()):
            click.echo(f"  {kind}: left out: {why}")
    if failure := range_failure(outcomes):
        fail(*failure)
