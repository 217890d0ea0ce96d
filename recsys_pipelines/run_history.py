"""A scope's last run as the Dagster instance recorded it: status, date, and what it said."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import dagster as dg

SCOPE_PARTITION_TAG = "dagster/partition/scope"
DATE_PARTITION_TAG = "dagster/partition/date"
_WHAT_RUNS_SAY = {
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
}


@dataclass(frozen=True)
class LastRun:
    run_id: str
    job: str
    status: str  # a DagsterRunStatus name: SUCCESS, FAILURE, STARTED, QUEUED, ...
    date: str | None  # the partition's date
    started_at: str | None
    ended_at: str | None
    messages: tuple[str, ...]  # failed checks, step failures, the manifest's outcome

    def view(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "status": self.status,
            "date": self.date,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "messages": list(self.messages),
        }


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def _said(event: dg.DagsterEvent) -> str | None:
    data: Any = event.event_specific_data
    if event.event_type == dg.DagsterEventType.STEP_FAILURE and data.error is not None:
        error = data.error
        while error.cause is not None:  # the domain error Dagster wrapped
            error = error.cause
        lines = error.message.strip().splitlines() or ["failed"]
        return f"{event.step_key}: {lines[-1]}"
    if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION and not data.passed:
        return f"{data.check_name}: {data.description or 'failed'}"
    if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
        meta = data.materialization.metadata
        if "message" in meta and data.materialization.asset_key == dg.AssetKey("manifest"):
            gate = meta.get("quality_gate")
            gate_text = f" (quality gate: {gate.value})" if gate is not None else ""
            return f"manifest: {meta['message'].value}{gate_text}"
    return None


def last_run(instance: dg.DagsterInstance, scope: str) -> LastRun | None:
    """The newest run of the scope's partitions (schedule, sensor, backfill or CLI)."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={SCOPE_PARTITION_TAG: scope}), limit=1
    )
    if not records:
        return None
    record = records[0]
    run = record.dagster_run
    said = [
        text
        for entry in instance.all_logs(run.run_id, of_type=_WHAT_RUNS_SAY)
        if entry.dagster_event is not None and (text := _said(entry.dagster_event)) is not None
    ]
    return LastRun(
        run_id=run.run_id,
        job=run.job_name,
        status=run.status.value,
        date=run.tags.get(DATE_PARTITION_TAG),
        started_at=_iso(record.start_time),
        ended_at=_iso(record.end_time),
        messages=tuple(said),
    )
