"""Partitions: one day x one (tenant, surface) scope; scopes are registered dynamically."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from recsys_algo.contracts.names import Partition, parse_day, parse_scope_key, scope_key

SCOPES_PARTITION = "scopes"
# MovieLens ml-latest-small starts in 1996; earlier history is not expected.
FIRST_DAY = "1995-01-01"

scopes_partitions = dg.DynamicPartitionsDefinition(name=SCOPES_PARTITION)
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1)
partitions = dg.MultiPartitionsDefinition({"date": daily_partitions, "scope": scopes_partitions})


def partition_key(tenant: str, surface: str, day: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day.isoformat(), "scope": scope_key(tenant, surface)})


def partition_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Partition:
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise TypeError(f"expected a (date, scope) partition key, got {key!r}")
    dims = key.keys_by_dimension
    tenant, surface = parse_scope_key(dims["scope"])
    return Partition(tenant, surface, parse_day(dims["date"]))
