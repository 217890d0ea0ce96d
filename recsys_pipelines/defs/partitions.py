"""Partitions: one day x one (tenant, surface) scope; scopes are registered dynamically."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from recsys_algo.config import PipelineEnv
from recsys_algo.contracts.names import Partition, parse_day, parse_scope_key, scope_key

SCOPES_PARTITION = "scopes"
# Dagster's own metadata key for a table's rows: the catalog shows it as the asset's row count.
ROW_COUNT = "dagster/row_count"
# RECSYS_FIRST_DAY, read when the code location loads (a wrong value fails the load naming it).
FIRST_DAY: dt.date = PipelineEnv.load().first_day

# 1: today's date is a partition too (a day's files may be materialized before it ends).
END_OFFSET = 1

scopes_partitions = dg.DynamicPartitionsDefinition(name=SCOPES_PARTITION)
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY.isoformat(), end_offset=END_OFFSET
)
partitions = dg.MultiPartitionsDefinition({"date": daily_partitions, "scope": scopes_partitions})


def partition_days(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The first and last day a date partition exists for at `now`: a day outside them has no
    partition (Dagster raises for its key), so callers skip or refuse it first."""
    last = now.astimezone(dt.UTC).date() + dt.timedelta(days=END_OFFSET - 1)
    return FIRST_DAY, last


def partition_key(tenant: str, surface: str, day: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day.isoformat(), "scope": scope_key(tenant, surface)})


def partition_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Partition:
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise TypeError(f"expected a (date, scope) partition key, got {key!r}")
    dims = key.keys_by_dimension
    tenant, surface = parse_scope_key(dims["scope"])
    return Partition(tenant, surface, parse_day(dims["date"]))
