"""The landing zone listed once: partitions grouped, bad names skipped with the reason, and the
sensors' steps over a real file:// store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from recsys_algo.stages.landing import landing_changes, scope_registration
from recsys_algo.store.landing_scan import scan_landing
from recsys_algo.store.storage import FileStorage, ObjectStat

DAY = dt.date(2026, 11, 1)
LATER = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)


def land(storage: FileStorage, key: str, data: bytes = b"{}\n") -> None:
    storage.write_bytes(key, data)


def test_files_are_grouped_by_scope_and_day_sorted_and_bad_names_are_reported(
    storage: FileStorage,
) -> None:
    land(storage, "raw/acme/home/2026-11-01/b.jsonl")
    land(storage, "raw/acme/home/2026-11-01/a.jsonl")
    land(storage, "raw/acme/home/2026-11-02/a.jsonl")
    land(storage, "raw/acme/home/20261101/a.jsonl")
    land(storage, "raw/acme/home/2026-11-01/notes.txt")
    land(storage, "raw/acme/home/2026-11-01/deeper/a.jsonl")
    land(storage, "raw/Bad Tenant/home/2026-11-01/a.jsonl")
    land(storage, "raw/stray.jsonl")
    scan = scan_landing(storage)
    assert scan.files == {
        ("acme.home", DAY): [
            "raw/acme/home/2026-11-01/a.jsonl",
            "raw/acme/home/2026-11-01/b.jsonl",
        ],
        ("acme.home", DAY + dt.timedelta(days=1)): ["raw/acme/home/2026-11-02/a.jsonl"],
    }
    assert scan.scopes == {("acme", "home")}
    assert list(scan.bad_folders) == ["raw/Bad Tenant/home/"]
    assert sorted(scan.bad_files) == [
        "raw/acme/home/2026-11-01/deeper/a.jsonl",
        "raw/acme/home/2026-11-01/notes.txt",
        "raw/acme/home/20261101/a.jsonl",
    ]
    assert "YYYY-MM-DD" in scan.bad_files["raw/acme/home/20261101/a.jsonl"]


def test_scope_registration_reads_the_folders_of_the_landing_zone(storage: FileStorage) -> None:
    land(storage, "raw/acme/home/2026-11-01/a.jsonl")
    land(storage, "raw/globex/feed/2026-11-01/a.jsonl")
    assert scope_registration(storage, ["acme.home"], None, 100).new == ["globex.feed"]


class CountingStats(FileStorage):
    """Records stat calls: days beyond the lookback must not be stat'ed."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.stated: list[str] = []

    def stat(self, key: str) -> ObjectStat:
        self.stated.append(key)
        return super().stat(key)


DAYS = (dt.date(2026, 1, 1), LATER.date())  # the partitions' first and last day


def test_only_registered_scopes_within_the_lookback_are_stat_ed(tmp_path: Path) -> None:
    storage = CountingStats(tmp_path / "store")
    land(storage, "raw/acme/home/2026-11-01/a.jsonl")
    land(storage, "raw/acme/home/2026-11-09/a.jsonl")
    land(storage, "raw/acme/search/2026-11-09/a.jsonl")
    first = landing_changes(storage, None, ["acme.home"], LATER, 6, 3, DAYS)
    assert storage.stated == ["raw/acme/home/2026-11-09/a.jsonl"]
    seen = first.cursor.seen["acme.home"]
    assert seen["2026-11-01"].endswith(":") and not seen["2026-11-09"].endswith(":")
    assert "waiting for landing_scopes to register acme.search" in first.message
    land(storage, "raw/acme/home/2026-11-09/a.jsonl", b"rewritten\n")
    again = landing_changes(storage, first.cursor_text, ["acme.home"], LATER, 6, 3, DAYS)
    assert [(r.scope, r.day.isoformat()) for r in again.runs] == [("acme.home", "2026-11-09")]
