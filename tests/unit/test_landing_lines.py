"""read_bounded keeps every line splitlines sees, in place, except the long ones, which it
reports (number, size, digest, excerpt) without holding them; whatever the chunking."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.store.landing_lines import bounded_blocks, read_bounded

LIMIT = 8
EXCERPT = 1024


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"a", b"bb", b"x" * 7, b"\n", b"\r", b"\r\n", b"y" * 13]), max_size=30
    ),
    st.integers(1, 40),
)
def test_lines_are_kept_in_place_and_long_ones_reported(parts: list[bytes], size: int) -> None:
    data = b"".join(parts)
    kept, long = read_bounded(chunked(data, size), limit=LIMIT)
    original = data.splitlines()
    assert len(kept.splitlines()) == len(original)
    expected = [(n, line) for n, line in enumerate(original, start=1) if len(line) > LIMIT]
    assert [(r.line, r.size, r.sha256) for r in long] == [
        (n, len(line), hashlib.sha256(line).hexdigest()) for n, line in expected
    ]
    for n, line in enumerate(kept.splitlines(), start=1):
        assert line == (b" " if n in {e[0] for e in expected} else original[n - 1])
    assert all(r.excerpt == original[r.line - 1][:EXCERPT] for r in long)


def test_a_file_without_long_lines_is_returned_unchanged() -> None:
    data = b'{"a": 1}\r\n{"b": 2}\n\n{"c": 3}'
    assert read_bounded(chunked(data, 3), limit=LIMIT) == (data, [])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"a", b"bb", b"x" * 7, b"\n", b"\r", b"\r\n", b"y" * 13]), max_size=30
    ),
    st.integers(1, 40),
    st.integers(1, 30),
)
def test_blocks_hold_whole_lines_numbered_as_in_the_file(
    parts: list[bytes], size: int, block: int
) -> None:
    data = b"".join(parts)
    blocks = list(bounded_blocks(chunked(data, size), limit=LIMIT, block=block))
    assert (b"".join(b for b, _ in blocks), [x for _, xs in blocks for x in xs]) == read_bounded(
        chunked(data, size), limit=LIMIT
    )
    first = 1
    for n, (content, long) in enumerate(blocks):
        lines = content.splitlines()
        if n < len(blocks) - 1:  # every block but the last ends with its last line's break
            assert content.endswith((b"\n", b"\r"))
            assert len(content) >= block
            assert not blocks[n + 1][0].startswith(b"\n") or not content.endswith(b"\r")
        assert all(first <= x.line < first + len(lines) for x in long)
        first += len(lines)
    assert first - 1 == len(data.splitlines())
