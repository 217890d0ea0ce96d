"""Run publishes that kill themselves (kill -9) at chosen storage calls; print each wait status.

`python -m tests.reliability.killer PLAN.json` where PLAN holds the blobs and one job per
store: {"root", "nth", "when"}. One interpreter pays the imports (sklearn, pyarrow, polars:
several seconds); it forks one child per job before any thread pool exists, so each child
starts in milliseconds and dies at exactly its step. Prints {"<root>": wait status}.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import sys
from pathlib import Path

from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.store.storage import FileStorage
from tests.reliability.generations import publish_generation
from tests.support.faults import FaultyStorage, die_now

MUTATING = ("write_new", "compare_and_swap")  # what a publish does to storage, in order
T_NEW = dt.datetime(2026, 11, 21, 7, 0, tzinfo=dt.UTC)


def encode_plan(blobs: list[ArtifactBlob], jobs: list[dict[str, object]]) -> str:
    encoded = [{**vars(b), "data": base64.b64encode(b.data).decode()} for b in blobs]
    return json.dumps({"blobs": encoded, "jobs": jobs})


def _decode_blobs(plan: dict[str, list[dict[str, object]]]) -> list[ArtifactBlob]:
    return [
        ArtifactBlob(
            kind=str(b["kind"]),
            data=base64.b64decode(str(b["data"])),
            rows=int(str(b["rows"])),
            schema_version=int(str(b["schema_version"])),
        )
        for b in plan["blobs"]
    ]


def main(plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    blobs = _decode_blobs(plan)
    statuses = {}
    for job in plan["jobs"]:
        storage = FaultyStorage(
            FileStorage(Path(job["root"])),
            nth=int(job["nth"]),
            ops=MUTATING,
            when=job["when"],
            fault=die_now,
        )
        pid = os.fork()
        if pid == 0:
            try:
                publish_generation(storage, "new-", T_NEW, blobs=blobs)
            finally:
                os._exit(0)  # the fault never fired: the parent sees status 0 and fails
        statuses[job["root"]] = os.waitpid(pid, 0)[1]
    print(json.dumps(statuses))


if __name__ == "__main__":
    main(sys.argv[1])
