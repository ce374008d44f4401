"""The command line: parse, call one engine function, print. A bare `localsearch` opens the TUI."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from localsearch import __version__
from localsearch.config import Settings, load_settings
from localsearch.errors import LocalSearchError

HOME_OPTION_HELP = "Data directory (default: LOCALSEARCH_HOME or the platform's user data dir)."


def home_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--home on every command, so it works before or after the command name."""
    return click.option("--home", type=click.Path(path_type=Path), help=HOME_OPTION_HELP)(command)


def wait_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--wait on every command that writes, for when another writer holds the index."""
    return click.option(
        "--wait",
        "wait_seconds",
        type=float,
        default=0.0,
        show_default=True,
        help="Seconds to wait for another index run to finish.",
    )(command)


def quiet_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-q", "--quiet", is_flag=True, help="No progress bars.")(command)


def settings_from(ctx: click.Context, home: Path | None, **overrides: Any) -> Settings:
    home = home or (ctx.obj or {}).get("home")
    return load_settings(home, **overrides)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
    from localsearch.cli import index_cmd, search_cmd

    app.add_command(index_cmd.index)
    app.add_command(index_cmd.status)
    app.add_command(index_cmd.roots)
    app.add_command(search_cmd.search)
    for module_name in ("eval_cmd", "adapt_cmd", "models_cmd", "tui_cmd"):
        try:
            module = __import__(f"localsearch.cli.{module_name}", fromlist=["commands"])
        except ImportError:
            continue
        for command in getattr(module, "commands", []):
            app.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: engine errors become one line on stderr and an exit code, never a traceback."""
    _register()
    from localsearch.cli.output import stderr

    try:
        app.main(args=argv, prog_name="localsearch", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except LocalSearchError as exc:
        stderr.print(f"Error: {exc.message}" + (f" — {exc.hint}" if exc.hint else ""), markup=False)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        # click turns Ctrl-C into Abort; every write is transactional, so nothing is half done.
        stderr.print(
            "Interrupted. Everything committed so far is kept and searchable; run the command"
            " again to finish.",
            markup=False,
        )
        sys.exit(130)
    except OSError as exc:
        stderr.print(
            f"Error: {exc.strerror or exc} ({exc.filename or ''})".replace(" ()", ""), markup=False
        )
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback on request
        if os.environ.get("LOCALSEARCH_DEBUG"):
            raise
        stderr.print(
            f"Error: unexpected {type(exc).__name__}: {exc}".splitlines()[0]
            + " — set LOCALSEARCH_DEBUG=1 for the traceback",
            markup=False,
        )
        sys.exit(1)
