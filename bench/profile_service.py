"""Where a worker's time goes under POST /v1/recommend: py-spy samples the workers under wrk.

    .venv/bin/python bench/profile_service.py                     # 64 connections, 15 s sampled
    .venv/bin/python bench/profile_service.py --svg /tmp/flame.svg  # also a flame graph

py-spy is a profiler, not a dependency of the project: install it where you like
(`pip install py-spy`) and put it on PATH or pass --py-spy. The service and store are those of
bench/service.py (same flags). Prints the share of samples per function, inclusive and self,
for the functions above --min-share, summed over the workers; idle samples (the event loop
waiting) are excluded, so the shares are of the time the workers were busy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from harness import add_common_args, machine_info, recommend_env, run_wrk, serve, store_from_args


def frames_of(stack: str) -> list[str]:
    """'a (file.py:1);b (g.py:2)' -> ['a (file.py)', 'b (g.py)'] (lines merged per function)."""
    out = []
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        path = where.rsplit(":", 1)[0]
        out.append(f"{name} ({'/'.join(Path(path).parts[-2:])})")
    return out


def shares(raw_files: list[Path]) -> tuple[Counter[str], Counter[str], int]:
    """(inclusive samples, self samples, total busy samples) from py-spy's raw output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in raw_files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = frames_of(stack)
            n = int(count)
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    return inclusive, own, total


def spy(py_spy: str, pid: int, seconds: float, out: Path, fmt: str) -> subprocess.Popen[bytes]:
    """py-spy sampling one process without pausing it (--nonblocking), idle stacks left out."""
    cmd = [py_spy, "record", "--pid", str(pid), "--duration", f"{seconds:g}", "--rate", "200"]
    cmd += ["--nonblocking", "--format", fmt, "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds sampled")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="the py-spy binary")
    parser.add_argument("--svg", type=Path, help="also write a flame graph of worker 1 here")
    parser.add_argument("--min-share", type=float, default=2.0, help="percent of busy samples")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if not args.py_spy:
        sys.exit("py-spy is not on PATH: `pip install py-spy` (anywhere) or pass --py-spy")
    store = store_from_args(args)
    tmp = Path(tempfile.mkdtemp(prefix="recsys-profile-"))
    with serve(store, args.workers) as server:
        env = recommend_env(store)
        url = server.base + "/v1/recommend"
        run_wrk("warm-up", url, "recommend.lua", seconds=5, connections=args.connections,
                threads=args.threads, env=env)  # fmt: skip
        raws = {pid: tmp / f"worker-{pid}.txt" for pid in server.workers()}
        spies = [spy(args.py_spy, pid, args.duration, raw, "raw") for pid, raw in raws.items()]
        result = run_wrk("profiled", url, "recommend.lua", seconds=args.duration + 2,
                         connections=args.connections, threads=args.threads, env=env)  # fmt: skip
        for process in spies:
            process.wait()
        if args.svg:
            spy(args.py_spy, server.workers()[0], 5, args.svg, "flamegraph").wait()
    inclusive, own, total = shares([raw for raw in raws.values() if raw.exists()])
    print(f"\nPOST /v1/recommend, {args.connections} connections, {result.rps:,.0f} requests/s "
          f"while sampled at 200 Hz; {total:,} busy samples over {len(raws)} workers; "
          f"{machine_info()}\n")  # fmt: skip
    print("| function | inclusive % | self % |\n|---|---:|---:|")
    for name, n in inclusive.most_common(args.top):
        if 100 * n / max(total, 1) >= args.min_share:
            print(f"| `{name}` | {100 * n / total:.1f} | {100 * own[name] / total:.1f} |")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
