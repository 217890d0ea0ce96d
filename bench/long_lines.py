"""Benchmark what one over-long landing line costs ingest: peak memory and quarantine size.

    .venv/bin/python bench/long_lines.py                     # 50 and 200 MB lines
    .venv/bin/python bench/long_lines.py --mb 30 --byte 1    # 30 MB of \\x01 (escape-heavy)

Each case runs `stages.ingest.ingest_partition` in a fresh child process over a file store
holding one landing file: 1,000 valid events and one line of the given size (`x`, or the
given byte). Prints one Markdown table: line MB, peak RSS MB of the child (ru_maxrss,
which includes the interpreter and polars, measured alone as the 0 MB row), quarantine bytes.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import datetime as dt, resource, sys
from pathlib import Path
from recsys_algo.contracts.names import Partition
from recsys_algo.stages.ingest import ingest_partition
from recsys_algo.store.storage import FileStorage
storage = FileStorage(Path(sys.argv[1]))
report = ingest_partition(storage, Partition("t", "s", dt.date(2026, 11, 1)))
key = "quarantine/t/s/2026-11-01/rejected.jsonl"
size = len(storage.read_bytes(key)) if report.quarantined else 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, size)
"""


def run(mb: float, byte: int) -> tuple[int, int]:
    """Peak RSS MB of a child ingesting the file, and the quarantine's size."""
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "raw" / "t" / "s" / "2026-11-01"
        folder.mkdir(parents=True)
        with (folder / "events.jsonl").open("wb") as fh:  # written here: the child only reads
            for i in range(1000):
                ts = f"2026-11-01T00:00:{i % 60:02d}Z"
                fh.write(
                    f'{{"ts": "{ts}", "item_id": "i{i % 97}", "event_type": "click"}}\n'.encode()
                )
            for _ in range(int(mb)):
                fh.write(bytes([byte]) * 2**20)
            fh.write(b"\n")
        out = subprocess.run(
            [sys.executable, "-c", CHILD, root], capture_output=True, text=True, check=True
        )
    peak, size = out.stdout.split()
    return int(peak), int(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="*", default=[50.0, 200.0])
    parser.add_argument("--byte", type=int, default=ord("x"), help="the line's byte (1: \\x01)")
    args = parser.parse_args()
    print(f"{platform.machine()}, Python {platform.python_version()}, byte {args.byte}\n")
    print("| line MB | peak RSS MB | quarantine bytes |")
    print("|---:|---:|---:|")
    for mb in [0.0, *args.mb]:
        peak, size = run(mb, args.byte)
        print(f"| {mb:g} | {peak} | {size:,} |")


if __name__ == "__main__":
    main()
