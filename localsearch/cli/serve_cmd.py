"""`localsearch serve`: keep the engine warm for `search` (and stop or ask about it)."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import time
from pathlib import Path

import click

from localsearch.cli import home_option, quiet_option, reading_only, settings_from
from localsearch.config import Settings, require_index
from localsearch.errors import ServerRunningError
from localsearch.server.client import server_lock_held
from localsearch.server.protocol import starting_path
from localsearch.wording import plural


@click.command()
@home_option
@click.option(
    "--idle",
    "idle_minutes",
    type=click.FloatRange(min=0.0),
    callback=lambda _ctx, _param, value: _finite(value),
    help="Stop after this many minutes without a search; 0 never (default: setting"
    " server_idle_minutes, 30).",
)
@click.option("--watch", is_flag=True, help="Also re-index files as they change (see `watch`).")
@click.option("--stop", is_flag=True, help="Stop the server of this data folder.")
@click.option(
    "--status", "show_status", is_flag=True, help="Say whether a server runs, and its pid."
)
@quiet_option
@click.pass_context
def serve(
    ctx: click.Context,
    home: Path | None,
    idle_minutes: float | None,
    watch: bool,
    stop: bool,
    show_status: bool,
    quiet: bool,
) -> None:
    """Keep the model and the index warm so that `localsearch search` answers at once.

    Listens on a Unix socket in the data folder (readable by you alone; nothing listens on a
    network port) and exits after an idle timeout (with --watch, only when --idle is given).
    One server per data folder. `search` starts one by itself unless the setting
    server_autostart is false. With --watch, when localsearch itself is upgraded, it carries
    on with the new version, as `watch` does.
    """
    settings = settings_from(ctx, home)
    if stop or show_status:
        with contextlib.nullcontext() if stop else reading_only():
            _stop_or_report(settings.home, stop)
        return
    try:
        _serve(settings, idle_minutes, watch, quiet)
    finally:  # whatever ended it, it is no longer starting (client.ask_once_started)
        with contextlib.suppress(OSError):  # a read-only home: what _serve raised says why
            starting_path(settings.home).unlink(missing_ok=True)


def _stop_or_report(home: Path, stop: bool) -> None:
    """`serve --stop`, or `serve --status` (with stop False)."""
    from localsearch.cli.output import stderr, stdout
    from localsearch.server.client import ask_once_started, server_pid, suspended_server

    show_status = not stop
    suspended = suspended_server(home)
    if suspended is not None and show_status:
        what, remedy = suspended_words(home, suspended)
        stderr.print(f"{what[0].upper()}{what[1:]}: {remedy}.", markup=False)
        sys.exit(1)
    reply = None
    if suspended is None:
        reply = ask_once_started(home, {"op": "stop" if stop else "status"})
    # Suspended, or holding the lock without answering: only a signal reaches it.
    stuck = suspended if suspended is not None or reply else server_pid(home)
    if stuck is not None:
        if stop:
            _terminate(home, stuck)
            stderr.print(f"Stopped the server for {home}.", markup=False)
            return
        stderr.print(
            f"The server for {home} (pid {stuck}) does not answer; end it with"
            " `localsearch serve --stop`.",
            markup=False,
        )
        sys.exit(1)
    if reply is None:
        stderr.print(f"No server is running for {home}.", markup=False)
        if show_status:
            sys.exit(1)
        return
    if show_status:
        info = reply["status"]
        stdout.print(
            f"Serving {info['home']} (pid {info['pid']}, model {info['model']},"
            f" {plural(info['served'], 'search')}, up {info['uptime_seconds']:.0f}s).",
            markup=False,
        )
        return
    _wait_until_gone(home)
    stderr.print(f"Stopped the server for {home}.", markup=False)


def _serve(settings: Settings, idle_minutes: float | None, watch: bool, quiet: bool) -> None:
    from localsearch.cli.output import stderr

    minutes = settings.server_idle_minutes if idle_minutes is None else idle_minutes
    if watch and idle_minutes is None:
        minutes = 0  # a watching server keeps the index fresh even when nobody searches
    try:
        from localsearch.server.service import SearchServer  # numpy, SQLite: a while

        require_index(settings)
        server = SearchServer(
            settings,
            idle_seconds=minutes * 60,
            log=(lambda line: None) if quiet else (lambda line: stderr.print(line, markup=False)),
            watch=watch,
        )
        # A Ctrl-C once it listens stops it, as `serve --stop` does (exit 0).
        if server.run():  # localsearch changed on disk: serve on from the new code
            from localsearch.upgrade import run_again

            run_again()
    except KeyboardInterrupt:
        # Before it listened (importing the engine, loading the model): no word on a run to
        # finish, as main has.
        stderr.print(f"Interrupted; the server for {settings.home} did not start.", markup=False)
        sys.exit(130)


def _finite(minutes: float | None) -> float | None:
    if minutes is not None and not math.isfinite(minutes):
        raise click.BadParameter(f"{minutes} is not a number of minutes")
    return minutes


def suspended_words(home: Path, pid: int) -> tuple[str, str]:
    """What a suspended server is, and what to do about it (search and --status say both)."""
    return (
        f"the server for {home} (pid {pid}) is suspended (Ctrl-Z or SIGSTOP)",
        f"resume it with `kill -CONT {pid}` or end it with `localsearch serve --stop`",
    )


def _terminate(home: Path, pid: int) -> None:
    """Stop a server that cannot be asked to: SIGTERM (which it handles as --stop), and SIGCONT
    so that a suspended one runs to act on it."""
    for signum in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    _wait_until_gone(home)
    if server_lock_held(home):
        raise ServerRunningError(
            f"the server for {home} (pid {pid}) did not stop", f"`kill -9 {pid}` ends it"
        )


def _wait_until_gone(home: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while server_lock_held(home) and time.monotonic() < deadline:
        time.sleep(0.05)
