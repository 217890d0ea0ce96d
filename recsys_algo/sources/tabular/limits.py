"""Bounds of a tabular import (no dataframe imports: the CLI reads them for its options)."""

DEFAULT_MAX_ROWS = 20_000_000  # a file with more rows is refused unless max_rows is raised
MAX_MAX_ROWS = 500_000_000
MAX_BAD_ROWS = 1_000_000  # how many bad rows an import may be told to let through
