"""Reading a landing file with memory bounded by a chunk, not by its longest line.

A line over MAX_LINE_BYTES is never held whole: it is hashed as it streams by, its first
QUARANTINE_EXCERPT_BYTES kept, and only a space and its line break are passed on, so line
numbers (as bytes.splitlines counts them: \\n, \\r\\n and \\r end a line) stay those of the
file and the parser sees a blank line in its place; ingest quarantines it from the LongLine.

The kept content is handed on in blocks of whole lines (bounded_blocks), each about
BLOCK_BYTES, so a reader holds a block, not the file."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from recsys_algo.contracts.event_rules import MAX_LINE_BYTES, QUARANTINE_EXCERPT_BYTES

BLOCK_BYTES = 16 << 20  # a block is handed on once this much of whole lines is kept
_BREAK = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class LongLine:
    line: int  # 1-based, as splitlines numbers the file's lines
    size: int  # bytes, without the line break
    sha256: str
    excerpt: bytes


class _Reader:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()  # the file with each long line's content left out
        self.long: list[LongLine] = []
        self.line = 1
        self.start = 0  # where the current line starts in kept (while it is short)
        self.size = 0  # bytes of the current line so far
        self.hash: hashlib._Hash | None = None  # set once the current line is too long
        self.excerpt = b""

    def feed(self, chunk: bytes) -> None:
        view = np.frombuffer(chunk, np.uint8)
        breaks = np.flatnonzero((view == 10) | (view == 13))
        gaps = np.diff(breaks, prepend=-1, append=len(chunk)) - 1
        gaps[0] += self.size
        if self.hash is None and int(gaps.max()) <= self.limit:
            # The usual chunk: no long line in it. Count its lines (\r\n is one break).
            self.kept += chunk
            crlf = int(np.count_nonzero((view[breaks[:-1]] == 13) & (view[breaks[:-1] + 1] == 10)))
            self.line += len(breaks) - crlf
            self.size = len(chunk) - 1 - int(breaks[-1]) if len(breaks) else self.size + len(chunk)
            if len(breaks):
                self.start = len(self.kept) - self.size
            return
        pos = 0
        for match in _BREAK.finditer(chunk):
            self._content(chunk[pos : match.start()])
            self._end(match.group())
            pos = match.end()
        self._content(chunk[pos:])

    def _content(self, part: bytes) -> None:
        self.size += len(part)
        if self.hash is None and self.size <= self.limit:
            self.kept += part
            return
        if self.hash is None:  # the line just went over: take it out of kept
            self.hash = hashlib.sha256(bytes(self.kept[self.start :]))
            self.excerpt = bytes(self.kept[self.start : self.start + QUARANTINE_EXCERPT_BYTES])
            # One space stands in: a blank line to the parser, and never joins a \r before
            # it and a \n after it into one line break.
            self.kept[self.start :] = b" "
        self.hash.update(part)
        if len(self.excerpt) < QUARANTINE_EXCERPT_BYTES:
            self.excerpt = (self.excerpt + part)[:QUARANTINE_EXCERPT_BYTES]

    def _end(self, line_break: bytes) -> None:
        if self.hash is not None:
            self.long.append(LongLine(self.line, self.size, self.hash.hexdigest(), self.excerpt))
            self.hash, self.excerpt = None, b""
        self.kept += line_break
        self.line += 1
        self.size = 0
        self.start = len(self.kept)

    def take(self, at_least: int) -> tuple[bytes, list[LongLine]] | None:
        """The whole lines kept so far and the long lines ended among them, once they are
        at_least bytes (else None); the current line stays. Everything before `start` is whole
        lines: a line break there is final (a trailing \r is held back until its next byte)."""
        if self.start < max(at_least, 1):
            return None
        with memoryview(self.kept) as view:
            block, long = bytes(view[: self.start]), self.long
        del self.kept[: self.start]
        self.start, self.long = 0, []
        return block, long

    def close(self) -> tuple[bytes, list[LongLine]]:
        if self.hash is not None:  # a last line without a line break
            self._end(b"")
        return bytes(self.kept), self.long


def bounded_blocks(
    chunks: Iterable[bytes], limit: int = MAX_LINE_BYTES, block: int | None = None
) -> Iterator[tuple[bytes, list[LongLine]]]:
    """The content with every line over `limit` bytes emptied, in blocks of whole lines of
    about `block` bytes (the last one may end without a line break), each with the records
    of the long lines it holds. Joined, the blocks are read_bounded's content."""
    reader, size = _Reader(limit), block or BLOCK_BYTES
    held = b""
    for chunk in chunks:
        data = held + chunk if held else chunk
        # A \r at a chunk's end may be the first half of \r\n: decide it with the next chunk.
        data, held = (data[:-1], data[-1:]) if data.endswith(b"\r") else (data, b"")
        if data:
            reader.feed(data)
        if (taken := reader.take(size)) is not None:
            yield taken
    if held:
        reader.feed(held)
    last = reader.close()
    if last[0] or last[1]:
        yield last


def read_bounded(
    chunks: Iterable[bytes], limit: int = MAX_LINE_BYTES
) -> tuple[bytes, list[LongLine]]:
    """(the content with every line over `limit` bytes emptied, those lines' records)."""
    blocks = list(bounded_blocks(chunks, limit))
    return b"".join(b for b, _ in blocks), [x for _, long in blocks for x in long]
