"""Read the columns an import needs from a CSV/TSV or parquet file, each row with its line.

Text is read record by record with the standard csv module, so every row keeps the line it
starts on (quoted fields may span lines), a row with the wrong number of fields or bytes that
do not decode is reported as a bad row with its line, and memory is bounded by the columns
kept. Parquet rows are numbered from 1 ("row N").
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from recsys_algo.contracts.errors import ConfigError, DataSourceError
from recsys_algo.sources.tabular.limits import DEFAULT_MAX_ROWS, MAX_MAX_ROWS

LINE = "_line"  # the 1-based line (text) or row (parquet) each row came from
PARQUET = "parquet"
TEXT = "text"
SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
_CHUNK = 250_000


@dataclass(frozen=True)
class BadRow:
    """A source row the import cannot use: where it is and why."""

    source: str
    unit: str  # "line" or "row"
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source} {self.unit} {self.line}: {self.reason}"


@dataclass(frozen=True)
class TableFormat:
    """How to read the file; `kind` and `separator` default from the file's suffix."""

    kind: str | None = None  # TEXT or PARQUET
    separator: str | None = None
    header: bool = True
    names: tuple[str, ...] = ()  # column names for a text file without a header
    encoding: str = "utf-8"
    null_values: tuple[str, ...] = ("",)
    max_rows: int = DEFAULT_MAX_ROWS

    def __post_init__(self) -> None:
        if self.kind not in (None, TEXT, PARQUET):
            raise ConfigError(f"format {self.kind!r} is unknown; use csv, tsv or parquet")
        if self.separator is not None and len(self.separator) != 1:
            raise ConfigError(f"separator {self.separator!r} must be one character")
        if not 1 <= self.max_rows <= MAX_MAX_ROWS:
            raise ConfigError(f"max_rows {self.max_rows} must be in 1..{MAX_MAX_ROWS}")
        if self.names and self.header:
            raise ConfigError("column names are given for a file without a header only")
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"column names {', '.join(self.names)} repeat a name")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ConfigError(f"encoding {self.encoding!r} is unknown") from None


@dataclass
class Table:
    source: str  # the path, as messages show it
    unit: str  # "line" or "row"
    frame: pl.DataFrame  # the wanted columns (text: String) and LINE
    bad: list[BadRow] = field(default_factory=list)

    def bad_row(self, line: int, reason: str) -> BadRow:
        return BadRow(self.source, self.unit, line, reason)


def read_table(path: Path, fmt: TableFormat, wanted: Sequence[str]) -> Table:
    """The wanted columns of `path` and each row's line; rows it cannot split are `bad`."""
    if not path.is_file():
        raise DataSourceError(f"{path}: not a file")
    suffix = path.suffix.lower()
    kind = fmt.kind or (PARQUET if suffix in PARQUET_SUFFIXES else TEXT)
    if kind == PARQUET:
        return _read_parquet(path, fmt, wanted)
    separator = fmt.separator or SEPARATORS.get(suffix)
    if separator is None:
        raise ConfigError(f"{path}: cannot tell the separator from {suffix!r}; give one")
    return _read_text(path, fmt, separator, wanted)


def _missing(path: Path, wanted: Sequence[str], have: Sequence[str], where: str) -> None:
    missing = [name for name in wanted if name not in have]
    if missing:
        raise DataSourceError(
            f"{path}: no column {', '.join(map(repr, missing))}; {where} has "
            f"{', '.join(map(repr, have)) or 'no columns'}"
        )


def _read_parquet(path: Path, fmt: TableFormat, wanted: Sequence[str]) -> Table:
    try:
        meta = pq.read_metadata(path)
        _missing(path, wanted, meta.schema.names, "the file")
        if meta.num_rows > fmt.max_rows:
            raise DataSourceError(
                f"{path}: {meta.num_rows} rows, more than max_rows {fmt.max_rows}"
            )
        frame = pl.read_parquet(path, columns=list(dict.fromkeys(wanted)))
    except (OSError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
        raise DataSourceError(f"{path}: cannot read as parquet ({_first_line(exc)})") from None
    return Table(str(path), "row", frame.with_row_index(LINE, offset=1).cast({LINE: pl.Int64}))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _lines(raw: Iterator[bytes], encoding: str, table: Table) -> Iterator[str]:
    """Decoded lines; a line that does not decode is a bad row and reads as blank."""
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode(encoding)
        except UnicodeDecodeError as exc:
            table.bad.append(table.bad_row(number, f"not {encoding}: {exc.reason}"))
            yield "\n"
            continue
        yield text.removeprefix("\ufeff") if number == 1 else text


def _header(reader: Iterator[list[str]], path: Path, fmt: TableFormat) -> tuple[str, ...]:
    if not fmt.header:
        return fmt.names
    for record in reader:
        if record:
            names = tuple(name.strip() for name in record)
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise DataSourceError(f"{path}: the header repeats {', '.join(repeated)}")
            return names
    raise DataSourceError(f"{path}: empty file, no header")


def _read_text(path: Path, fmt: TableFormat, separator: str, wanted: Sequence[str]) -> Table:
    table = Table(str(path), "line", pl.DataFrame())
    columns = list(dict.fromkeys(wanted))
    chunks: list[pl.DataFrame] = []
    with path.open("rb") as handle:
        reader = csv.reader(_lines(iter(handle), fmt.encoding, table), delimiter=separator)
        try:
            names = _header(reader, path, fmt)
            width = len(names) or None  # no header, no names: the first row sets the width
            if names:
                _missing(path, columns, names, "the header")
            rows, lines, start = 0, [], reader.line_num + 1
            values: list[list[str | None]] = [[] for _ in columns]
            index: list[int] = []
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue  # a blank line
                if width is None:
                    width = len(record)
                    names = tuple(str(i) for i in range(1, width + 1))
                    _missing(path, columns, names, "the first row (columns named 1..N)")
                if not index:
                    index = [names.index(name) for name in columns]
                if len(record) != width:
                    table.bad.append(table.bad_row(line, f"{len(record)} fields, expected {width}"))
                    continue
                rows += 1
                if rows > fmt.max_rows:
                    raise DataSourceError(f"{path}: more than max_rows {fmt.max_rows} rows")
                lines.append(line)
                for column, i in zip(values, index, strict=True):
                    value = record[i]
                    column.append(None if value in fmt.null_values else value)
                if len(lines) == _CHUNK:
                    chunks.append(_frame(columns, values, lines))
                    lines, values = [], [[] for _ in columns]
        except csv.Error as exc:
            raise DataSourceError(f"{path} line {reader.line_num}: {exc}") from None
        except OSError as exc:
            raise DataSourceError(f"{path}: cannot read ({exc})") from None
    chunks.append(_frame(columns, values, lines))
    table.frame = pl.concat(chunks, rechunk=True)
    return table


def _frame(columns: list[str], values: list[list[str | None]], lines: list[int]) -> pl.DataFrame:
    data: dict[str, list[str | None] | list[int]] = dict(zip(columns, values, strict=True))
    schema: dict[str, pl.DataType] = {name: pl.String() for name in columns}
    return pl.DataFrame({**data, LINE: lines}, schema={**schema, LINE: pl.Int64()})
