"""Fuzz the raw event line parser: every line is either a staged row or quarantined with a reason.

Contract (docs/contracts.md, raw events): parse_line returns a canonical tuple or raises
Rejected with one of REASONS; parse_files on the same line agrees with it (its column-wise fast
path must accept exactly what parse_line accepts) and its counts add up. Any other exception,
or a disagreement, is a crash.

    .venv/bin/python fuzz/fuzz_event_line.py -max_total_time=20 /tmp/corpus fuzz/seeds/event_line
"""

from __future__ import annotations

import datetime as dt
import sys

import atheris

with atheris.instrument_imports(include=["recsys_algo"]):
    from recsys_algo.contracts.event_rules import Rejected, day_bounds_ms, parse_line
    from recsys_algo.contracts.events import parse_files

DAY = dt.date(2026, 11, 20)
BOUNDS = day_bounds_ms(DAY)
REASONS = {
    "line_too_long", "schema", "invalid_json", "invalid_ts", "ts_outside_partition",
    "invalid_event_type", "invalid_value", "invalid_rank", "tenant_mismatch",
    "surface_mismatch", "invalid_id",
}  # fmt: skip


def check_line(data: bytes) -> None:
    line = data.replace(b"\n", b" ").replace(b"\r", b" ")  # one line, as the file splitter sees
    try:
        row: tuple[object, ...] | None = parse_line(line, "demo", "home", BOUNDS)
        reason = None
    except Rejected as rejected:
        row, reason = None, rejected.reason
        if reason not in REASONS:
            raise AssertionError(f"undocumented quarantine reason {reason!r}") from None
    result = parse_files([("f.jsonl", line)], "demo", "home", DAY)
    if not line.strip():
        assert (result.lines, result.staged.height, result.rejected) == (0, 0, []), result
        return
    assert result.lines == 1 and result.staged.height + len(result.rejected) == 1, result
    if row is None:
        assert result.staged.height == 0, (line, reason, result.staged.row(0))
        assert result.rejected[0]["reason"] == reason, (line, reason, result.rejected)
    else:
        assert not result.rejected, (line, row, result.rejected)
        staged = result.staged.row(0, named=True)
        assert staged["event_id"] == row[0], (line, row, staged)
        assert staged["item_id"] == row[6], (line, row, staged)


def main() -> None:
    atheris.Setup(sys.argv, check_line)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
