"""Landing-zone sensors: register new scopes; rerun exactly the partitions whose files changed."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from recsys_algo.contracts.errors import NotFoundError
from recsys_pipelines.defs.automation import clock
from recsys_pipelines.defs.automation.landing_scan import (
    Fingerprints,
    LandingCursor,
    changed,
    decode_cursor,
    encode_cursor,
    fingerprint,
    problems_digest,
    scan_landing,
)
from recsys_pipelines.defs.automation.run_requests import partition_run
from recsys_pipelines.defs.automation.settings import landing_lookback_days
from recsys_pipelines.defs.partitions import SCOPES_PARTITION, scopes_partitions
from recsys_pipelines.defs.resources import StorageResource

LANDING_SENSOR = "landing_files"
SCOPES_SENSOR = "landing_scopes"
# A new scope with a long history arrives as one burst; the rest follows on the next ticks.
MAX_RUNS_PER_TICK = 50
_SHOWN = 10


def _listing(problems: dict[str, str]) -> str:
    shown = [f"{where}: {why}" for where, why in sorted(problems.items())[:_SHOWN]]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _reported_folders(cursor: str | None) -> set[str]:
    """Folders already warned about; an unreadable cursor only means warning once more."""
    try:
        folders = json.loads(cursor) if cursor else []
    except ValueError:
        return set()
    return {str(f) for f in folders} if isinstance(folders, list) else set()


@dg.sensor(
    name=SCOPES_SENSOR,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Registers raw/{tenant}/{surface}/ landing folders as tenant.surface partitions; "
    "folders with invalid names are reported, never registered.",
)
def landing_scopes(
    context: dg.SensorEvaluationContext, storage: StorageResource
) -> dg.SensorResult:
    """Add every valid scope folder of the landing zone as a dynamic partition."""
    scan = scan_landing(storage.open())
    registered = set(context.instance.get_dynamic_partitions(SCOPES_PARTITION))
    new = sorted({f"{t}.{s}" for t, s in scan.scopes} - registered)
    reported = _reported_folders(context.cursor)
    for folder in sorted(set(scan.bad_folders) - reported):
        context.log.warning(f"landing folder {folder} skipped: {scan.bad_folders[folder]}")
    parts = [f"registered {', '.join(new)}" if new else "no new tenant.surface folders"]
    if scan.bad_folders:
        parts.append(f"skipped invalid folders: {_listing(scan.bad_folders)}")
    return dg.SensorResult(
        dynamic_partitions_requests=[scopes_partitions.build_add_request(new)] if new else [],
        cursor=json.dumps(sorted(scan.bad_folders)),
        skip_reason=". ".join(parts),
    )


def _due(day: dt.date, now: dt.datetime, hour: int) -> bool:
    """Past the day's schedule tick; before it the schedule's own run will read the files."""
    tick = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(hour), tzinfo=dt.UTC)
    return now >= tick


def build_landing_sensor(job: dg.UnresolvedAssetJobDefinition, hour: int) -> dg.SensorDefinition:
    @dg.sensor(
        name=LANDING_SENSOR,
        job=job,
        minimum_interval_seconds=120,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Reruns exactly the (date, tenant.surface) partitions whose landing files "
        "are new or rewritten after that day's scheduled run; the first tick only records.",
    )
    def landing_files(
        context: dg.SensorEvaluationContext, storage: StorageResource
    ) -> dg.SensorResult:
        """Compare each partition's file fingerprint with the cursor; request runs for changes."""
        store = storage.open()
        now = clock.utc_now()
        previous = decode_cursor(context.cursor)
        seen: Fingerprints = previous.seen if previous else {}
        scan = scan_landing(store)
        registered = set(context.instance.get_dynamic_partitions(SCOPES_PARTITION))
        lookback = landing_lookback_days()
        recorded: Fingerprints = {}
        requests: list[dg.RunRequest] = []
        waiting: set[str] = set()
        deferred = 0
        for (scope, day), keys in scan.files.items():
            if scope not in registered:
                waiting.add(scope)  # not recorded: seen as new once landing_scopes adds it
                continue
            day_s = day.isoformat()
            try:
                now_fp = fingerprint(store, keys, (now.date() - day).days <= lookback)
            except NotFoundError:
                continue  # deleted between list and stat; the next tick sees the settled state
            before = seen.get(scope, {}).get(day_s)
            if previous is not None and changed(before, now_fp) and _due(day, now, hour):
                if len(requests) >= MAX_RUNS_PER_TICK:
                    deferred += 1
                    continue
                run_key = f"landing:{scope}:{day_s}:{now_fp}"
                requests.append(partition_run(scope, day, "landing", run_key))
            recorded.setdefault(scope, {})[day_s] = now_fp
        reported = problems_digest(scan.bad_files)
        if scan.bad_files and reported != (previous.reported if previous else ""):
            context.log.warning(f"landing files skipped: {_listing(scan.bad_files)}")
        cursor = encode_cursor(LandingCursor(recorded, reported))
        if requests:
            context.log.info(
                f"requested {len(requests)} partition runs"
                + (f"; {deferred} more on the next tick" if deferred else "")
            )
            return dg.SensorResult(run_requests=requests, cursor=cursor)
        if previous is None:
            message = (
                f"first tick: recorded {sum(map(len, recorded.values()))} landing partitions "
                "without running them (backfill history from the UI)"
            )
        else:
            message = "no new or changed landing files past their day's schedule tick"
        if waiting:
            message += f"; waiting for landing_scopes to register {', '.join(sorted(waiting))}"
        return dg.SensorResult(cursor=cursor, skip_reason=message)

    return landing_files
