"""A landing line over the documented maximum (MAX_LINE_BYTES) is quarantined as a bounded
excerpt with its length and digest: a huge or escape-heavy line is never copied, let alone
amplified, into the quarantine, and the rest of its file is ingested as usual."""

from __future__ import annotations

import hashlib
import json

from recsys_algo.contracts import layout
from recsys_algo.contracts.event_rules import MAX_LINE_BYTES, QUARANTINE_EXCERPT_BYTES
from tests.pipelines.conftest import DAY0, SURFACE, TENANT, Env, event_lines


def test_an_over_long_line_is_quarantined_as_an_excerpt_with_its_length_and_digest(
    env: Env,
) -> None:
    control = b"\x01" * (4 * MAX_LINE_BYTES)  # 6 bytes each once JSON-escaped
    plain = b'{"ts": 0, "item_id": "' + b"x" * (2 * MAX_LINE_BYTES) + b'"}'
    good = [line.encode() for line in event_lines(DAY0, 60)]
    key = f"{layout.raw_prefix(TENANT, SURFACE, DAY0)}/events.jsonl"
    env.storage.write_bytes(key, b"\n".join([good[0], control, *good[1:30], plain, *good[30:]]))
    assert env.run(DAY0).manifest_version  # the 60 good lines were ingested and published
    quarantine = env.storage.read_bytes(layout.quarantine_key(TENANT, SURFACE, DAY0))
    assert len(quarantine) < 4 * (6 * QUARANTINE_EXCERPT_BYTES + 400)  # bounded, both lines
    records = [json.loads(line) for line in quarantine.splitlines()]
    assert [(r["line"], r["reason"]) for r in records] == [
        (2, "line_too_long"),
        (32, "line_too_long"),
    ]
    for record, line in zip(records, (control, plain), strict=True):
        assert record["bytes"] == len(line) and record["truncated"] is True
        assert record["sha256"] == hashlib.sha256(line).hexdigest()
        assert record["raw"] == line[:QUARANTINE_EXCERPT_BYTES].decode()


def test_a_line_at_the_limit_is_quarantined_whole(env: Env) -> None:
    padding = MAX_LINE_BYTES - len(b'{"ts": 0, "item_id": ""}')
    line = b'{"ts": 0, "item_id": "' + b"y" * padding + b'"}'  # an over-long id, not line
    assert len(line) == MAX_LINE_BYTES
    good = [line_.encode() for line_ in event_lines(DAY0, 60)]
    env.storage.write_bytes(
        f"{layout.raw_prefix(TENANT, SURFACE, DAY0)}/events.jsonl", b"\n".join([*good, line])
    )
    env.run(DAY0)
    quarantine = env.storage.read_bytes(layout.quarantine_key(TENANT, SURFACE, DAY0))
    [record] = [json.loads(r) for r in quarantine.splitlines()]
    assert record["reason"] != "line_too_long" and record["raw"] == line.decode()
    assert "truncated" not in record
