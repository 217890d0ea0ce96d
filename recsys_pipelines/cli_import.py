"""`recsys import events` and `recsys import diginetica`: public logs into the landing zone.

The commands are built by `import_commands`, which takes the CLI's error handler and name
check from recsys_pipelines.cli, so this module never imports cli (no import loop) and cli.py
only adds them to its `import` group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from recsys_algo.contracts.errors import ConfigError
from recsys_algo.contracts.event_rules import EVENT_TYPES
from recsys_algo.sources.tabular.limits import DEFAULT_MAX_ROWS, MAX_BAD_ROWS, MAX_MAX_ROWS
from recsys_algo.store.storage import Storage

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
NameCheck = Callable[[str], Callable[[click.Context, click.Parameter, str], str]]
Register = Callable[[str, str], None]
TIME_UNITS = ("s", "ms", "us", "ns", "iso")
TEXT_FORMATS = {"csv": ",", "tsv": "\t"}
SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
FIRST_PLAUSIBLE_YEAR = 1990  # an earlier first day usually means the wrong --time-unit


def _event_map(pairs: Sequence[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source:
            raise ConfigError(f"--event-map {pair!r} must be SOURCE=TYPE, e.g. view=click")
        mapping[source] = target
    return mapping


def _report(summary: Any, what: str, tenant: str, surface: str) -> None:
    click.echo(f"imported {what} into {tenant}/{surface}: {summary}")
    for row in summary.bad_rows:
        click.echo(f"warning: skipped {row}", err=True)
    if summary.first_day.year < FIRST_PLAUSIBLE_YEAR:
        click.echo(
            f"warning: the first day is {summary.first_day}; is the time unit right?", err=True
        )


def import_commands(
    handle_errors: Decorator,
    name: NameCheck,
    storage: Callable[[], Storage],
    register: Register,
) -> list[click.Command]:
    """The `import events` and `import diginetica` commands, wired to the CLI's helpers:
    its error handler, name check, storage and scope registration."""
    bad_rows_option = click.option(
        "--max-bad-rows",
        default=0,
        show_default=True,
        type=click.IntRange(0, MAX_BAD_ROWS),
        help="Let up to N bad rows through (each is reported); more refuse the import.",
    )

    @click.command(name="events")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--tenant", required=True, callback=name("tenant"))
    @click.option("--surface", required=True, callback=name("surface"))
    @click.option("--item-col", required=True, help="Column holding the item id.")
    @click.option("--time-col", required=True, help="Column holding the event time.")
    @click.option("--time-unit", type=click.Choice(TIME_UNITS), default="s", show_default=True)
    @click.option("--user-col", help="Column holding the user id (optional).")
    @click.option("--session-col", help="Column holding the session id (optional).")
    @click.option(
        "--event-type",
        type=click.Choice(EVENT_TYPES),
        default="click",
        show_default=True,
        help="Every row's event type, unless --event-type-col is given.",
    )
    @click.option("--event-type-col", help="Column holding each row's event type.")
    @click.option("--event-map", multiple=True, metavar="SOURCE=TYPE", help="Rename a type.")
    @click.option("--value-col", help="Column holding a number (a rating, a price).")
    @click.option("--id-col", help="Column holding a unique event id (default: file-line).")
    @click.option("--format", "format_", type=click.Choice(["csv", "tsv", "parquet"]))
    @click.option(
        "--separator", help="Field separator: one character, or tab (default from the suffix)."
    )
    @click.option("--no-header", is_flag=True, help="The text file has no header row.")
    @click.option("--columns", help="Names for a file without a header: a,b,c (else 1,2,3).")
    @click.option("--encoding", default="utf-8", show_default=True)
    @click.option("--null-value", multiple=True, help="A value meaning empty (default: '').")
    @click.option("--name", "landing_name", help="Landing file name (default: from PATH).")
    @bad_rows_option
    @click.option(
        "--max-rows",
        default=DEFAULT_MAX_ROWS,
        show_default=True,
        type=click.IntRange(1, MAX_MAX_ROWS),
        help="Refuse a file with more rows (memory is bounded by it).",
    )
    @handle_errors
    def events(path: Path, tenant: str, surface: str, **options: Any) -> None:
        """Import a CSV/TSV/parquet event log from PATH with a column mapping."""
        from recsys_algo.sources.tabular.importer import EventLogMapping, import_event_log
        from recsys_algo.sources.tabular.table import PARQUET, TEXT, TableFormat

        fmt_name = options["format_"]
        given = options["separator"]
        separator = SEPARATOR_NAMES.get(given, given) or TEXT_FORMATS.get(fmt_name or "")
        names = (
            tuple(c.strip() for c in options["columns"].split(",")) if options["columns"] else ()
        )
        fmt = TableFormat(
            kind=None if fmt_name is None else PARQUET if fmt_name == "parquet" else TEXT,
            separator=separator,
            header=not options["no_header"],
            names=names,
            encoding=options["encoding"],
            null_values=("", *options["null_value"]),
            max_rows=options["max_rows"],
        )
        mapping = EventLogMapping(
            item_col=options["item_col"],
            time_col=options["time_col"],
            time_unit=options["time_unit"],
            user_col=options["user_col"],
            session_col=options["session_col"],
            event_type=options["event_type"],
            event_type_col=options["event_type_col"],
            event_map=_event_map(options["event_map"]),
            value_col=options["value_col"],
            id_col=options["id_col"],
        )
        summary = import_event_log(
            path,
            storage(),
            tenant,
            surface,
            mapping,
            fmt,
            landing_name=options["landing_name"],
            max_bad_rows=options["max_bad_rows"],
        )
        register(tenant, surface)
        _report(summary, path.name, tenant, surface)

    @click.command(name="diginetica")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--tenant", default="diginetica", show_default=True, callback=name("tenant"))
    @click.option("--surface", default="home", show_default=True, callback=name("surface"))
    @bad_rows_option
    @handle_errors
    def diginetica(path: Path, tenant: str, surface: str, max_bad_rows: int) -> None:
        """Import DIGINETICA product views (train-item-views.csv or its folder) from PATH."""
        from recsys_algo.sources.diginetica.importer import import_diginetica

        summary = import_diginetica(path, storage(), tenant, surface, max_bad_rows=max_bad_rows)
        register(tenant, surface)
        _report(summary, "DIGINETICA", tenant, surface)

    return [events, diginetica]
