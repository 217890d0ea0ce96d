"""Run the daily job in-process for a range of days and turn Dagster results into domain errors."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dagster as dg
import sqlalchemy.exc
from dagster_postgres.utils import DagsterPostgresException

from recsys_algo.contracts.errors import (
    ERROR_CLASSES,
    DataSourceError,
    RecsysError,
    ValidationGateError,
    most_serious,
)
from recsys_algo.contracts.names import scope_key
from recsys_pipelines.defs.ingest.assets import SKIPPED
from recsys_pipelines.defs.partitions import SCOPES_PARTITION, partition_key
from recsys_pipelines.run_health import execute_recorded


@contextmanager
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    """The instance under DAGSTER_HOME (SQLite by default), else an in-memory one. Its
    database failing (at open, at registering a scope) is an InstanceStorageError."""
    try:
        if os.environ.get("DAGSTER_HOME"):
            with dg.DagsterInstance.get() as instance:
                yield instance
        else:
            with dg.DagsterInstance.ephemeral() as instance:
                yield instance
    except _INSTANCE_FAILURES as exc:
        raise InstanceStorageError(
            f"the Dagster instance's database failed ({_one_line(exc)}); nothing was run"
        ) from None


def register_scope(instance: dg.DagsterInstance, tenant: str, surface: str) -> bool:
    """Add the (tenant, surface) dynamic partition; True if it was new."""
    key = scope_key(tenant, surface)
    if instance.has_dynamic_partition(SCOPES_PARTITION, key):
        return False
    instance.add_dynamic_partitions(SCOPES_PARTITION, [key])
    return True


class StepFailure(RecsysError):
    """A step failed with an error the platform did not classify (exit 1)."""


class Interrupted(RecsysError):
    """SIGINT or SIGTERM stopped a run (exit 130); its run is marked failed."""

    exit_code = 130


class InstanceStorageError(RecsysError):
    """The Dagster instance's database failed during a run (exit 1): the run is not recorded,
    but what it published is complete or absent (the pointer moves last)."""


# The instance's storage raising out of a run: dagster-postgres gives up with its own error
# after retrying; SQLAlchemy raises DBAPIError subclasses (SQLite too, e.g. a full disk).
_INSTANCE_FAILURES: tuple[type[Exception], ...] = (
    DagsterPostgresException,
    sqlalchemy.exc.DBAPIError,
)


def _one_line(exc: BaseException) -> str:
    """`Class: first line` (SQLAlchemy's messages run to several lines and a URL)."""
    detail = (str(exc).strip().splitlines() or ["no details"])[0][:300]
    return f"{type(exc).__name__}: {detail}"


# A step interrupted fails with Dagster's error; an interrupt between steps fails the run
# itself with the KeyboardInterrupt (SIGTERM is turned into one by the CLI).
_INTERRUPTS = frozenset({"DagsterExecutionInterruptedError", "KeyboardInterrupt"})


def _classify(error: dg.SerializableErrorInfo | None, day: dt.date) -> RecsysError:
    chain = []
    while error is not None:
        chain.append(error)
        error = error.cause or error.context
    if any(info.cls_name in _INTERRUPTS for info in chain):
        return Interrupted(
            f"{day.isoformat()}: interrupted (SIGINT or SIGTERM); its run is marked failed and "
            "nothing was half-published (the pointer moves last); rerun the day"
        )
    for info in chain:
        cls = ERROR_CLASSES.get(info.cls_name or "")
        if cls is not None:
            # SerializableErrorInfo messages read "module.Class: text"; keep the text.
            text = info.message.strip().splitlines()[-1]
            return cls(text.split(": ", 1)[-1] if text.startswith("recsys_algo.") else text)
    last = chain[-1] if chain else None
    detail = last.message.strip().splitlines()[-1] if last else "unknown error"
    return StepFailure(f"{day.isoformat()}: {detail}")


@dataclass(frozen=True)
class DayOutcome:
    day: dt.date
    manifest_version: str | None
    serving: bool
    message: str
    kinds: str = ""  # the kinds the manifest holds, comma-separated
    omitted: str = ""  # "; left out: kind (why)" or nothing
    error: RecsysError | None = None  # the day was not published: why

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code

    @property
    def line(self) -> str:
        """One line: published / held by gate: which / skipped: why / failed (exit N): what."""
        error = self.error
        if error is None:
            where = "serving" if self.serving else f"history only: {self.message}"
            return (
                f"{self.day}  published {self.manifest_version} ({where}) "
                f"with {self.kinds}{self.omitted}"
            )
        if error.exit_code == ValidationGateError.exit_code:
            return f"{self.day}  held by gate: {error}"
        if error.exit_code == DataSourceError.exit_code:
            return f"{self.day}  skipped: {error}"
        return f"{self.day}  failed (exit {error.exit_code}): {error}"


def run_day(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    tenant: str,
    surface: str,
    day: dt.date,
    allow_rewind: bool = False,
    override_reason: str | None = None,
    console_log_level: str | None = None,
) -> DayOutcome:
    """Materialize every asset (and check) of one partition; raise a classified error on failure.

    override_reason, when given, publishes even if the quality gate fails (recorded in lineage).
    console_log_level sets what Dagster's console logger prints (None: its default, DEBUG); the
    run's events are recorded in the instance either way.
    """
    config: dict[str, object] = {"allow_rewind": allow_rewind}
    if override_reason is not None:
        config.update(quality_override=True, override_reason=override_reason)
    run_config: dict[str, Any] = {"ops": {"manifest": {"config": config}}}
    if console_log_level is not None:
        run_config["loggers"] = {"console": {"config": {"log_level": console_log_level}}}
    try:
        result = execute_recorded(job, instance, partition_key(tenant, surface, day), run_config)
    except _INSTANCE_FAILURES as exc:
        raise InstanceStorageError(
            f"{tenant}/{surface} {day}: the Dagster instance's database failed during the run "
            f"({_one_line(exc)}); the run is not recorded, and what it published "
            "is complete or absent (see `recsys manifests`); rerun once the database is back"
        ) from None
    # Blocking checks (severity ERROR) hold the day; the others only warn (a kind left out,
    # the hold check: the manifest's own message reports it).
    failed_checks = [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    if failed_checks:
        reasons = "; ".join(
            f"{e.check_name}: {e.description or 'failed'}"
            for e in sorted(failed_checks, key=lambda e: e.check_name)
        )
        raise ValidationGateError(f"blocked publishing {tenant}/{surface} {day}: {reasons}")
    failures = result.get_step_failure_events()
    if failures:
        raise _classify(failures[0].event_specific_data.error, day)  # type: ignore[union-attr]
    run_failure = result.get_run_failure_event() if not result.success else None
    if run_failure is not None:
        raise _classify(getattr(run_failure.event_specific_data, "error", None), day)
    for observation in result.asset_observations_for_node("raw_events"):
        if (skipped := observation.metadata.get(SKIPPED)) is not None:
            raise DataSourceError(str(skipped.value))  # nothing to build: as a range's skip
    for materialization in result.asset_materializations_for_node("manifest"):
        meta = materialization.metadata
        omitted = meta["omitted_kinds"].value
        assert isinstance(omitted, dict)
        return DayOutcome(
            day,
            str(meta["manifest_version"].value),
            bool(meta["serving"].value),
            str(meta["message"].value),
            kinds=str(meta["kinds"].value),
            omitted="; left out: " + "; ".join(f"{k} ({why})" for k, why in omitted.items())
            if omitted
            else "",
        )
    raise StepFailure(f"{tenant}/{surface} {day}: the run finished without publishing")


def run_days(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    tenant: str,
    surface: str,
    days: list[dt.date],
    allow_rewind: bool = False,
    on_day: Callable[[DayOutcome], None] | None = None,
    override_reason: str | None = None,
    console_log_level: str | None = None,
    fail_fast: bool = False,
    no_data: Callable[[dt.date], str | None] | None = None,
) -> list[DayOutcome]:
    """Every day in order, each on its own: a day held by a gate or without data is reported
    and the next day runs (its window's gates notice the gap). fail_fast stops at the first
    day not published, raising its error. The Dagster instance failing always stops.

    no_data(day): why a day has nothing to ingest (no landing files), or None; such a day is
    skipped without starting a run (a sparse log's range would otherwise record thousands of
    runs that fail at their first step)."""
    outcomes = []
    for day in days:
        try:
            if no_data is not None and (reason := no_data(day)) is not None:
                raise DataSourceError(reason)
            outcome = run_day(
                job, instance, tenant, surface, day, allow_rewind, override_reason,
                console_log_level,
            )  # fmt: skip
        except InstanceStorageError:
            raise
        except RecsysError as exc:
            if fail_fast:
                raise
            outcome = DayOutcome(day, None, False, str(exc), error=exc)
        outcomes.append(outcome)
        if on_day is not None:
            on_day(outcome)
    return outcomes


def range_failure(outcomes: list[DayOutcome]) -> tuple[str, int] | None:
    """The closing line and the most serious exit code the days met, if any day was missed."""
    missed = [o for o in outcomes if o.error is not None]
    if not missed:
        return None
    code = most_serious(o.exit_code for o in outcomes)
    return f"{len(missed)} of {len(outcomes)} days not published (lines above); exit {code}", code
