"""Ingest reads, parses and stages a landing file a block of lines at a time: what it writes
(staged rows, quarantine, canonical day) and reports does not depend on the sizes of the
store's reads, the blocks, the parser's chunks or the staged row groups, and equals what the
whole files give to the per-line oracle and the whole-frame canonicalization."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
import pyarrow.parquet as pq
import pytest

from recsys_algo.contracts import canonical, event_scan, layout
from recsys_algo.contracts.canonical import to_parquet_bytes
from recsys_algo.contracts.events import MAX_LINE_BYTES
from recsys_algo.contracts.names import Partition
from recsys_algo.stages import ingest
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.store import landing_lines
from recsys_algo.store.landing import read_landing_day, write_landing_file
from recsys_algo.store.storage import FileStorage
from tests.support.builders import DAY, DAY_START_MS, raw_line
from tests.support.event_oracle import reference_canonicalize_parquet, reference_parse_files

P = Partition("demo", "home", DAY)


def _event(i: int, **fields: Any) -> bytes:
    # Timestamps out of line order, so canonical order is not file order.
    event = {"ts": DAY_START_MS + (i * 7919) % 86_000_000, "item_id": f"i{i % 13}"}
    return raw_line({**event, "event_id": f"e{i}", "user_id": f"u{i % 5}", **fields})


def _file_a() -> bytes:
    lines = [_event(i) for i in range(600)]
    lines[40] = b'{"ts": 1, "item_id": "x"}'  # outside the day
    lines[250] = b"not json"
    lines[251] = b""  # blank
    lines[400] = b"{" + b"x" * (MAX_LINE_BYTES + 10) + b"}"  # too long: hashed, never held
    lines[520] = _event(3, item_id="again")  # a duplicate of line 4, far from it
    lines[555] = b'{"ts": "soon", "item_id": "y"}'
    body = b"\n".join(lines[:300]) + b"\r\n" + b"\r\n".join(lines[300:450]) + b"\r"
    return body + b"\n".join(lines[450:])  # the last line without a line break


def _file_b() -> bytes:  # duplicates of a's events, and a bad line
    return b"\n".join([_event(10), _event(599, value=2.5), b'{"item_id": "no ts"}', _event(700)])


def _fill(storage: FileStorage, tmp_path: Path) -> None:
    write_landing_file(storage, "demo", "home", DAY, "a.jsonl", _file_a())
    write_landing_file(storage, "demo", "home", DAY, "b.jsonl", _file_b())
    (tmp_path / "outside.jsonl").write_bytes(_event(1))
    folder = storage.root / layout.raw_prefix("demo", "home", DAY)
    (folder / "c.jsonl").symlink_to(tmp_path / "outside.jsonl")


def _written(storage: FileStorage) -> dict[str, bytes]:
    return {
        key: storage.read_bytes(key)
        for prefix in ("staging/", "quarantine/", "canonical/")
        for key in storage.list(prefix)
    }


def _run(storage: FileStorage) -> tuple[dict[str, Any], dict[str, bytes]]:
    report = dataclasses.asdict(ingest_partition(storage, P))
    canonicalize_partition(storage, P)
    return report, _written(storage)


def test_outputs_do_not_depend_on_read_block_chunk_or_row_group_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(FileStorage(tmp_path / "big"), tmp_path)
    shutil.copytree(tmp_path / "big", tmp_path / "small", symlinks=True)
    big_report, big = _run(FileStorage(tmp_path / "big"))

    small = FileStorage(tmp_path / "small")
    read_chunks = FileStorage.read_chunks

    def tiny_reads(self: FileStorage, key: str, size: int = 0) -> Iterator[bytes]:
        return read_chunks(self, key, 37)  # lines cross every read

    blocks: list[int] = []
    parse = ingest.LineParser.rows

    def counted(self: ingest.LineParser, *args: Any, **kwargs: Any) -> tuple[pl.DataFrame, int]:
        blocks.append(1)
        return parse(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(FileStorage, "read_chunks", tiny_reads)
        patch.setattr(landing_lines, "BLOCK_BYTES", 2_000)
        patch.setattr(event_scan, "CHUNK_BYTES", 700)
        patch.setattr(canonical, "ROW_GROUP_ROWS", 29)
        patch.setattr(ingest.LineParser, "rows", counted)
        small_report, written = _run(small)
    assert len(blocks) > 20  # file a came in many blocks, each parsed in several chunks
    staged_key = layout.staging_key("demo", "home", DAY, "raw_events.parquet")
    assert pq.read_metadata(FileStorage(tmp_path / "small").root / staged_key).num_row_groups > 10
    assert {k: v for k, v in small_report.items() if "uri" not in k} == {
        k: v for k, v in big_report.items() if "uri" not in k
    }
    staged = written.pop(staged_key)  # row groups of other sizes: other bytes, the same rows
    assert pl.read_parquet(staged).equals(pl.read_parquet(big.pop(staged_key)))
    assert written == big


def test_outputs_equal_the_whole_file_oracles(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "store")
    _fill(storage, tmp_path)
    report, written = _run(storage)
    files = read_landing_day(storage, "demo", "home", DAY).files  # the linked file is not read
    frame, rejected, lines, _ = reference_parse_files(files, "demo", "home", DAY)
    staged = written[layout.staging_key("demo", "home", DAY, "raw_events.parquet")]
    assert pl.read_parquet(staged).equals(frame)
    expected_canonical, duplicates = reference_canonicalize_parquet(to_parquet_bytes(frame))
    assert duplicates == 3  # e3 twice in a, e10 and e599 again in b
    assert written[layout.canonical_key("demo", "home", DAY)] == to_parquet_bytes(
        expected_canonical
    )
    records = [
        msgspec.json.decode(x)
        for x in written[layout.quarantine_key("demo", "home", DAY)].splitlines()
    ]
    assert [(r["file"], r["line"], r["reason"]) for r in records] == [
        ("a.jsonl", 41, "ts_outside_partition"),
        ("a.jsonl", 251, "invalid_json"),
        ("a.jsonl", 401, "line_too_long"),
        ("a.jsonl", 556, "invalid_ts"),
        ("b.jsonl", 3, "schema"),
        ("c.jsonl", 0, "symbolic_link"),
    ]
    parsed = {(r["file"], r["line"]): r for r in rejected}
    assert all(
        r == parsed[(r["file"], r["line"])] for r in records if (r["file"], r["line"]) in parsed
    )
    assert records[2]["bytes"] == MAX_LINE_BYTES + 12 and len(records[2]["raw"]) == 1024
    assert report["lines"] == lines + 1  # the long line is a line, not a blank
    assert report["quarantined"] == len(records) and report["rows"] == lines + 1 - len(records)
