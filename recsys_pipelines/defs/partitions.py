"""Partitions: one day x one (tenant, surface) scope; scopes are registered dynamically."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from recsys_algo.names import parse_day, parse_scope_key, scope_key

SCOPES_PARTITION = "scopes"
# MovieLens ml-latest-small starts in 1996; earlier history is not expected.
FIRST_DAY = "1995-01-01"

scopes_partitions = dg.DynamicPartitionsDefinition(name=SCOPES_PARTITION)
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1)
partitions = dg.MultiPartitionsDefinition({"date": daily_partitions, "scope": scopes_partitions})


@dataclass(frozen=True)
class Partition:
    tenant: str
    surface: str
    day: dt.date

    @property
    def label(self) -> str:
        return f"{self.tenant}/{self.surface} {self.day.isoformat()}"


def partition_key(tenant: str, surface: str, day: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day.isoformat(), "scope": scope_key(tenant, surface)})


def partition_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> Partition:
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        key = dg.MultiPartitionKey.from_str(str(key), ["date", "scope"])  # type: ignore[attr-defined]
    dims = key.keys_by_dimension
    tenant, surface = parse_scope_key(dims["scope"])
    return Partition(tenant, surface, parse_day(dims["date"]))
