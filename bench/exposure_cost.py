"""What one answer's exposure logging costs a serving worker, in-process: CPU per answer.

    .venv/bin/python bench/exposure_cost.py                  # 20 items an answer, 20,000 answers
    .venv/bin/python bench/exposure_cost.py --items 50 --answers 5000

Three parts, each timed over the same answers into a temporary file:// store: building the
landing lines (`exposure_lines`), buffering them as a request does (`EventLog.add_exposures`,
the lines included) and the flush that joins and writes them (`EventLog.flush`). bench/service.py
--exposures off gives the same cost seen from outside, in requests/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from recsys_algo.store.storage import open_storage
from recsys_service.event_log import EventLog
from recsys_service.event_log_settings import EventLogSettings
from recsys_service.exposure import Exposure, exposure_lines
from recsys_service.schemas import RecommendedItem

TS_MS = 1_765_000_000_000  # one instant: every answer lands in one day's file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20, help="items per answer")
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--catalog", type=int, default=20_000, help="distinct item ids")
    args = parser.parse_args()
    answers = [
        Exposure(
            "bench", "home", f"request-{a}", "20261207T000000000Z-bench",
            [
                RecommendedItem(item_id=f"item-{(a * 7 + i) % args.catalog:06d}",
                                score=1.0 / (i + 1), source="implicit")
                for i in range(args.items)
            ],
            user_id=f"user-{a % 5000}",
        )
        for a in range(args.answers)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="recsys-bench-") as tmp:
        settings = EventLogSettings(buffer_max=args.answers * args.items)
        log = EventLog(open_storage(Path(tmp).as_uri()), settings)
        log.on_threshold = lambda: None  # the bench flushes once, below
        timed = {}
        start = time.process_time()
        for exposure in answers:
            exposure_lines(exposure, TS_MS)
        timed["build the lines (exposure_lines)"] = time.process_time() - start
        start = time.process_time()
        for exposure in answers:
            log.add_exposures([exposure])
        timed["buffer them (EventLog.add_exposures, lines included)"] = time.process_time() - start
        start = time.process_time()
        written = log.flush()
        timed["flush: join and write (EventLog.flush)"] = time.process_time() - start
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.jsonl"))
    assert written == args.answers * args.items, written
    print(f"\n{args.answers:,} answers of {args.items} items; {size / args.answers:,.0f} bytes of "
          "landing lines an answer\n")  # fmt: skip
    print("| part | CPU µs per answer |\n|---|---:|")
    for part, seconds in timed.items():
        print(f"| {part} | {seconds / args.answers * 1e6:.1f} |")


if __name__ == "__main__":
    main()
