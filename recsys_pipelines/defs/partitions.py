"""Partitions: one day x one (tenant, surface) scope; scopes are registered dynamically."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from recsys_algo.config import PipelineEnv
from recsys_algo.contracts.names import Partition, parse_day, parse_scope_key, scope_key

SCOPES_PARTITION = "scopes"
# RECSYS_FIRST_DAY, read when the code location loads (a wrong value fails the load naming it).
FIRST_DAY: dt.date = PipelineEnv.load().first_day

scopes_partitions = dg.DynamicPartitionsDefinition(name=SCOPES_PARTITION)
# end_offset=1: today's date is a partition too (a day's files may be materialized before it ends).
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), end_offset=1)
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
