"""Ingest assets: landing files -> typed staged rows (with quarantine) -> canonical events."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

from collections.abc import Iterator

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition, landing_missing
from recsys_algo.stages.publish import check_serving_pointer
from recsys_pipelines.defs.partitions import ROW_COUNT, partition_of, partitions
from recsys_pipelines.defs.resources import SigningResource, StorageResource

# A run's tag saying why it built nothing (the Runs list shows it); its raw_events observation
# carries the same text under SKIPPED.
OUTCOME_TAG = "recsys/outcome"
SKIPPED = "skipped"


@dg.asset(
    partitions_def=partitions,
    group_name="ingest",
    code_version=CODE_VERSION,
    kinds={"polars"},
    # A day without landing files yields no output: every later step is skipped and the run
    # succeeds, as `recsys materialize` skips such a day (a backfill over a sparse log).
    output_required=False,
)
def raw_events(
    context: dg.AssetExecutionContext, storage: StorageResource, signing: SigningResource
) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
    """Landing JSON lines of one day parsed into typed rows; every malformed line quarantined."""
    store, partition = storage.open(), partition_of(context)
    # First, so a run the manifest step would refuse computes nothing.
    check_serving_pointer(store, signing.signing_keys(), partition)
    missing = landing_missing(store, partition)
    if missing is not None:
        context.log.info(missing)
        context.instance.add_run_tags(context.run.run_id, {OUTCOME_TAG: f"{SKIPPED}: {missing}"})
        yield dg.AssetObservation(
            asset_key=context.asset_key,
            partition=context.partition_key,
            metadata={SKIPPED: missing},
        )
        return
    report = ingest_partition(store, partition)
    if report.warning:
        context.log.warning(report.warning)
    yield dg.MaterializeResult(
        metadata={
            "files": report.files,
            "lines": report.lines,
            ROW_COUNT: report.rows,
            "blank_lines": report.blank_lines,
            "quarantined": report.quarantined,
            "quarantine_reasons": dg.MetadataValue.json(report.reasons),
            "quarantine_uri": report.quarantine_uri or "",
            "input_fingerprint": report.input_fingerprint,
            "uri": report.uri,
        },
        data_version=dg.DataVersion(report.input_fingerprint),
    )


@dg.asset(
    partitions_def=partitions,
    group_name="ingest",
    code_version=CODE_VERSION,
    deps=[raw_events],
    kinds={"parquet"},
)
def canonical_events(
    context: dg.AssetExecutionContext, storage: StorageResource
) -> dg.MaterializeResult:
    """One day of events in UTC, deduplicated by event_id, stably sorted; reruns byte-identical."""
    report = canonicalize_partition(storage.open(), partition_of(context))
    return dg.MaterializeResult(
        metadata={
            ROW_COUNT: report.rows,
            "duplicates_removed": report.duplicates,
            "bytes": report.bytes,
            "digest": report.sha256,
            "uri": report.uri,
        },
        data_version=dg.DataVersion(report.sha256),
    )
