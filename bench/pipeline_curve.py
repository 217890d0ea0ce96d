"""The growth curve: one fresh process per size, then wall and peak memory per million events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

# Flags the curve sets itself for each size.
_OWN = ("--curve", "--days", "--events-per-day", "--json")


def _shape(millions: float) -> tuple[int, int]:
    """(days, events per day): up to 1M events is one day; more is days of 1M (a window)."""
    if millions <= 1:
        return 1, round(millions * 1_000_000)
    return round(millions), 1_000_000


def _without_own_flags(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _OWN:
            skip = "=" not in arg and name != "--json"
            continue
        kept.append(arg)
    return kept


def run_curve(script: Path, argv: list[str], sizes: str) -> list[dict[str, float]]:
    rows = []
    for size in (float(s) for s in sizes.split(",")):
        days, per_day = _shape(size)
        cmd = [sys.executable, str(script), *_without_own_flags(argv)]
        cmd += ["--days", str(days), "--events-per-day", str(per_day), "--json"]
        print(f"curve: {size:g}M events ({days} x {per_day:,})", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"curve point {size:g}M failed:\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({"millions": size, "days": days, **result})
    return rows


def print_curve(rows: list[dict[str, float]], description: str) -> None:
    print(f"\n{description}\n")
    print("| events | days | wall (s) | CPU (s) | peak RSS (MB) |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['millions']:g}M | {r['days']:.0f} | {r['wall']:.2f} | {r['cpu']:.2f} | "
              f"{r['peak_rss_mb']:,.0f} |")  # fmt: skip
    if len(rows) >= 2:
        x = np.array([r["millions"] for r in rows])
        wall = np.polyfit(x, [r["wall"] for r in rows], 1)
        cpu = np.polyfit(x, [r["cpu"] for r in rows], 1)
        rss = np.polyfit(x, [r["peak_rss_mb"] for r in rows], 1)
        print(f"\nSlope (least squares): {wall[0]:.2f} s wall, {cpu[0]:.2f} s CPU and "
              f"{rss[0]:,.0f} MB of peak RSS per million events; intercepts {wall[1]:.2f} s, "
              f"{cpu[1]:.2f} s, {rss[1]:,.0f} MB.")  # fmt: skip
    labels = ", ".join(f'"{r["millions"]:g}M"' for r in rows)
    walls = ", ".join(f"{r['wall']:.1f}" for r in rows)
    peaks = ", ".join(f"{r['peak_rss_mb'] / 1024:.2f}" for r in rows)
    print("\n```mermaid\nxychart-beta")
    print('    title "Daily run: wall seconds (bars), peak GB (line)"')
    print(f"    x-axis [{labels}]\n    bar [{walls}]\n    line [{peaks}]\n```")
