"""Blocking checks on canonical_events: a failure stops everything downstream, publish included."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import warnings
from collections.abc import Callable
from typing import Any

import dagster as dg

from recsys_algo.contracts.canonical import from_parquet_bytes
from recsys_algo.contracts.names import Partition
from recsys_algo.policy import gates as validation
from recsys_algo.policy.gates import GateResult
from recsys_algo.stages.serving_note import serving_note
from recsys_algo.stages.staging import staged_rows
from recsys_algo.stages.window import canonical_days, parquet_rows, prior_rows, read_canonical
from recsys_pipelines.defs.ingest.assets import canonical_events
from recsys_pipelines.defs.partitions import partition_of, partitions
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource

CheckFn = Callable[..., Any]
SCHEMA = "canonical_events_schema"
TS_IN_DAY = "canonical_events_ts_in_day"
MIN_EVENTS = "canonical_events_min_events"
MAX_EVENTS = "canonical_events_max_events"
DUPLICATE_RATIO = "canonical_events_duplicate_ratio"
VOLUME = "canonical_events_volume"
WINDOW_COVERAGE = "canonical_events_window_coverage"


def _result(gate: GateResult, storage: StorageResource, p: Partition) -> dg.AssetCheckResult:
    """The check's result; a failure also says what keeps serving meanwhile."""
    message = gate.message
    if not gate.passed:
        message = f"{message}; {serving_note(storage.open(), p.tenant, p.surface)}"
    return dg.AssetCheckResult(
        passed=gate.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=message,
        metadata={"message": message, **gate.metadata},
    )


def _canonical(
    context: dg.AssetCheckExecutionContext, storage: StorageResource
) -> tuple[Partition, bytes | None]:
    p = partition_of(context)
    return p, read_canonical(storage.open(), p.tenant, p.surface, p.day)


def _missing(p: Partition, storage: StorageResource) -> dg.AssetCheckResult:
    return _result(
        GateResult(False, f"canonical_events for {p.label}: file is missing"), storage, p
    )


def _check(name: str, description: str) -> Callable[[CheckFn], dg.AssetChecksDefinition]:
    def decorate(fn: CheckFn) -> dg.AssetChecksDefinition:
        # Partitioned checks are a Dagster "preview" feature; dagster is pinned exactly in
        # pyproject.toml, so the warning about patch-release changes is handled by the pin.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.PreviewWarning)
            return dg.asset_check(
                asset=canonical_events,
                name=name,
                description=description,
                blocking=True,
                partitions_def=partitions,
            )(fn)

    return decorate


@_check(SCHEMA, "Columns and types are exactly the canonical schema.")
def canonical_events_schema(
    context: dg.AssetCheckExecutionContext, storage: StorageResource
) -> dg.AssetCheckResult:
    p, data = _canonical(context, storage)
    if data is None:
        return _missing(p, storage)
    return _result(validation.schema(from_parquet_bytes(data), p.label), storage, p)


@_check(TS_IN_DAY, "Every ts lies inside the partition's UTC day.")
def canonical_events_ts_in_day(
    context: dg.AssetCheckExecutionContext, storage: StorageResource
) -> dg.AssetCheckResult:
    p, data = _canonical(context, storage)
    if data is None:
        return _missing(p, storage)
    return _result(validation.ts_in_day(from_parquet_bytes(data), p.day, p.label), storage, p)


@_check(MIN_EVENTS, "At least min_events events.")
def canonical_events_min_events(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    p, data = _canonical(context, storage)
    if data is None:
        return _missing(p, storage)
    return _result(
        validation.min_events(parquet_rows(data), settings.min_events, p.label), storage, p
    )


@_check(MAX_EVENTS, "At most max_events events (guardrail against floods).")
def canonical_events_max_events(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    p, data = _canonical(context, storage)
    if data is None:
        return _missing(p, storage)
    return _result(
        validation.max_events(parquet_rows(data), settings.max_events, p.label), storage, p
    )


@_check(DUPLICATE_RATIO, "Share of staged rows removed as duplicates stays under the limit.")
def canonical_events_duplicate_ratio(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    p, data = _canonical(context, storage)
    staged = staged_rows(storage.open(), p)
    if data is None or staged is None:
        return _missing(p, storage)
    gate = validation.duplicate_ratio(
        staged, parquet_rows(data), settings.max_duplicate_ratio, p.label
    )
    return _result(gate, storage, p)


@_check(VOLUME, "Volume within bounds of the median of the last days that exist.")
def canonical_events_volume(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    p, data = _canonical(context, storage)
    if data is None:
        return _missing(p, storage)
    gate = validation.volume(
        parquet_rows(data),
        prior_rows(storage.open(), p, settings.volume_history_days),
        settings.volume_low_ratio,
        settings.volume_high_ratio,
        settings.volume_min_history,
        p.label,
    )
    return _result(gate, storage, p)


@_check(
    WINDOW_COVERAGE,
    "The window's days (since the scope's first) hold events often enough to build on.",
)
def canonical_events_window_coverage(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    p, data = _canonical(context, storage)
    if data is None:
        return _missing(p, storage)
    present = canonical_days(storage.open(), p.tenant, p.surface)
    gate = validation.window_coverage(
        present, p.day, settings.window_days, present[0], settings.min_window_coverage, p.label
    )
    return _result(gate, storage, p)


CHECKS = [
    canonical_events_schema,
    canonical_events_ts_in_day,
    canonical_events_min_events,
    canonical_events_max_events,
    canonical_events_duplicate_ratio,
    canonical_events_volume,
    canonical_events_window_coverage,
]
