"""What every `recsys` command shares: one-line errors, exit codes, name and date options."""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import os
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from recsys_algo.contracts.errors import ConfigError, RecsysError
from recsys_algo.contracts.manifest import check_version
from recsys_algo.contracts.names import check_name, parse_day

F = TypeVar("F", bound=Callable[..., Any])
USAGE_EXIT = 2
# What a shell reports for a process that SIGPIPE ended: `recsys manifests | head -3`.
BROKEN_PIPE_EXIT = 128 + 13
INTERRUPTED_EXIT = 128 + 2


class RecsysGroup(click.Group):
    """Click's group with the contract's error format: `error: <one line>` on stderr and the
    documented exit code, for usage errors too (click prints a usage block), a reader that
    closed the pipe exits quietly, and nothing prints a traceback without --verbose."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            _print_error(f"{exc.format_message()}{where}")
            sys.exit(USAGE_EXIT)
        except click.ClickException as exc:
            _print_error(exc.format_message())
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _print_error("interrupted")
            sys.exit(INTERRUPTED_EXIT)
        except BrokenPipeError:
            _exit_quietly_on_broken_pipe()
        sys.exit(result if isinstance(result, int) else 0)


def _print_error(message: str) -> None:
    # Click's messages may span lines (e.g. a list of choices); the contract is one line.
    click.echo(f"error: {' '.join(message.split())}", err=True)


def _exit_quietly_on_broken_pipe() -> NoReturn:
    # The reader is gone: send what is still buffered to /dev/null, so the interpreter's final
    # flush does not print "Exception ignored ... BrokenPipeError" on the way out.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file descriptor (a test runner's buffer): nothing to redirect
    sys.exit(BROKEN_PIPE_EXIT)


def handle_errors(fn: F) -> F:
    """One clear line and the documented exit code; a traceback only with --verbose."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RecsysError as exc:
            fail(str(exc), exc.exit_code)
        except BrokenPipeError:
            # Before click sees it: click would exit 1, the code of "any other error".
            _exit_quietly_on_broken_pipe()
        except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
            raise
        except Exception as exc:
            fail(f"unexpected {type(exc).__name__}: {exc}", 1)

    return wrapper  # type: ignore[return-value]


def verbose() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().params.get("verbose"))


def fail(message: str, code: int) -> NoReturn:
    if verbose():
        traceback.print_exc()
    _print_error(message)
    sys.exit(code)


def name_callback(kind: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_name(kind, value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def day_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return parse_day(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


def version_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A manifest version if given; an empty one is refused, never taken as "not given"."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter(
            "is empty: name a manifest version (see `recsys manifests`), or leave the option out"
        )
    try:
        return check_version(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


tenant_option = click.option("--tenant", required=True, callback=name_callback("tenant"))
surface_option = click.option("--surface", required=True, callback=name_callback("surface"))


def operator() -> str:
    """Who runs this command, for hold and audit records: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's anonymous uid)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


by_option = click.option(
    "--by", default=None, metavar="WHO", help="Recorded as who did it (default: user@host)."
)
