"""The command line: parse, call one engine function, print. A bare `localsearch` opens the TUI."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from localsearch import __version__
from localsearch.config import Settings, load_settings
from localsearch.cpu_budget import respect_cpu_quota, spin_briefly
from localsearch.errors import LocalSearchError, UsageError

HOME_OPTION_HELP = "Data directory (default: LOCALSEARCH_HOME or the platform's user data dir)."


def home_option(command: Callable[..., Any], help: str = HOME_OPTION_HELP) -> Callable[..., Any]:
    """--home on every command, so it works before or after the command name."""
    return click.option("--home", type=str, callback=_home_path, help=help, metavar="PATH")(command)


def _home_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    # An empty --home would be the current folder: a typo, not a choice (say "." for that).
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: name a folder (`.` for the current one)")
    return None if value is None else Path(value)


class GivenPath(click.Path):
    """A path argument that refuses an empty one: Path("") is the current folder, which an
    empty argument (an unset shell variable) never meant."""

    def __init__(self, kind: str, wanted: str, **kwargs: Any) -> None:
        super().__init__(path_type=Path, **kwargs)
        self.kind, self.wanted = kind, wanted

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            raise UsageError(f"an empty path is not a {self.kind}", f"give {self.wanted}")
        return super().convert(value, param, ctx)


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not value >= 0:  # also refuses nan, which compares false with everything
        raise click.BadParameter("must be a number of seconds, 0 or more")
    return value


def wait_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--wait on every command that writes, for when another writer holds the index."""
    return click.option(
        "--wait",
        "wait_seconds",
        type=float,
        default=0.0,
        show_default=True,
        callback=_seconds,
        help="Seconds to wait for another index run to finish.",
    )(command)


def quiet_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-q", "--quiet", is_flag=True, help="No progress bars.")(command)


@contextmanager
def reading_only() -> Iterator[None]:
    """Around what a command does when it only reads: Ctrl-C says that nothing was written
    (exit 130), not `main`'s word for an interrupted write, which asks for a run to finish."""
    try:
        yield
    except KeyboardInterrupt:
        _print_error("Interrupted; nothing was written.")
        sys.exit(130)


def settings_from(ctx: click.Context, home: Path | None, **overrides: Any) -> Settings:
    home = home or (ctx.obj or {}).get("home")
    return load_settings(home, **overrides)


# Commands by name, imported when used: `localsearch search` must not pay for the others'
# imports (numpy, SQLite, rich) when the server answers it.
COMMANDS = {
    "index": ("index_cmd", "index"),
    "status": ("index_cmd", "status"),
    "roots": ("index_cmd", "roots"),
    "search": ("search_cmd", "search"),
    "serve": ("serve_cmd", "serve"),
    "mcp": ("mcp_cmd", "mcp"),
    "watch": ("watch_cmd", "watch"),
    "history": ("history_cmd", "history"),
    "feedback": ("history_cmd", "feedback"),
}
# Modules that list their commands in `commands`; some need optional dependencies.
COMMAND_MODULES = ("eval_cmd", "adapt_cmd", "models_cmd", "tui_cmd")


class LazyGroup(click.Group):
    # A closed pipe is caught in these two (--help and --version print in the first):
    # click's main would end with a silent exit 1.
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            _stop_at_closed_pipe()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _stop_at_closed_pipe()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module_name, attribute = COMMANDS[cmd_name]
            module = __import__(f"localsearch.cli.{module_name}", fromlist=[attribute])
            self.add_command(getattr(module, attribute), cmd_name)
        if cmd_name not in self.commands:
            _register_modules()
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in COMMANDS:
            self.get_command(ctx, name)
        _register_modules()
        return sorted(self.commands)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="localsearch")
@home_option
@click.pass_context
def app(ctx: click.Context, home: Path | None) -> None:
    """Private, offline semantic search over your own files.

    Run with no command to open the interactive search.
    """
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    if ctx.invoked_subcommand is None:
        from localsearch.cli.tui_cmd import run_tui

        run_tui(settings_from(ctx, home))


def _register() -> None:
    """Import every command now rather than on first use."""
    app.list_commands(click.Context(app))


def _register_modules() -> None:
    for module_name in COMMAND_MODULES:
        try:
            module = __import__(f"localsearch.cli.{module_name}", fromlist=["commands"])
        except ImportError:
            continue
        for command in getattr(module, "commands", []):
            app.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: engine errors become one line on stderr and an exit code, never a traceback."""
    # Everything written under the home (database, BM25 files, models) is private.
    previous_umask = os.umask(0o077)
    os.umask(previous_umask | 0o077)
    # Before any command imports torch, whose OpenMP runtime reads both once, as it loads.
    respect_cpu_quota()
    spin_briefly()
    try:
        _run(argv)
    except SystemExit as exc:
        if exc.code in (None, 0):
            _flush_stdout()
        raise
    else:
        _flush_stdout()
    finally:
        os.umask(previous_umask)


# What a shell reports for `git log | head -1` (128 + SIGPIPE): the output was cut short by
# its reader, which is neither a success nor an error of ours.
CLOSED_PIPE_EXIT = 141


def _flush_stdout() -> None:
    """Flush what is left for stdout now: at the interpreter's exit, a closed pipe would be
    Python's "Exception ignored … BrokenPipeError" and exit 120."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stop_at_closed_pipe()


def _stop_at_closed_pipe() -> NoReturn:
    """The reader of our output went away (`localsearch search … | head -1`): stop without a
    word, as git and cat do. Writes are transactional, so whatever was being written is either
    committed or not. stdout and stderr point at /dev/null from here, so that nothing left in
    a buffer fails again on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):  # no file behind it (a test's capture)
            pass
    os.close(devnull)
    sys.exit(CLOSED_PIPE_EXIT)


def _run(argv: list[str] | None) -> None:
    try:
        app.main(args=argv, prog_name="localsearch", standalone_mode=False)
    except click.UsageError as exc:
        # One line, as every other error; click's own format is four (Usage, Try, blank, Error).
        where = f" — see `{exc.ctx.command_path} --help`" if exc.ctx is not None else ""
        _print_error(f"Error: {' '.join(exc.format_message().split())}{where}")
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except LocalSearchError as exc:
        _print_error(f"Error: {exc.message}" + (f" — {exc.hint}" if exc.hint else ""))
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        # click turns Ctrl-C into Abort; every write is transactional, so nothing is half done.
        _print_error(
            "Interrupted. Everything committed so far is kept and searchable; run the command"
            " again to finish."
        )
        sys.exit(130)
    except OSError as exc:
        _print_error(f"Error: {exc.strerror or exc} ({exc.filename or ''})".replace(" ()", ""))
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback on request
        # Every failure a user can cause has its own message; reaching here is a bug.
        if os.environ.get("LOCALSEARCH_DEBUG"):
            raise
        _print_error(
            f"Error: internal error ({type(exc).__name__}: {exc}".splitlines()[0]
            + ") — a bug in localsearch; LOCALSEARCH_DEBUG=1 shows the traceback to report"
        )
        sys.exit(1)


def _print_error(line: str) -> None:
    from localsearch.cli.output import stderr
    from localsearch.terminal_text import one_line

    stderr.print(one_line(line), markup=False)  # a path in it cannot break it into two
