"""`localsearch serve`: keep the engine warm for `search` (and stop or ask about it)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import click

from localsearch.cli import home_option, quiet_option, settings_from
from localsearch.config import Settings, require_index
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
    server_autostart is false.
    """
    from localsearch.cli.output import stderr, stdout
    from localsearch.server.client import ask_once_started

    settings = settings_from(ctx, home)
    if stop or show_status:
        reply = ask_once_started(settings.home, {"op": "stop" if stop else "status"})
        if reply is None:
            stderr.print(f"No server is running for {settings.home}.", markup=False)
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
        _wait_until_gone(settings.home)
        stderr.print(f"Stopped the server for {settings.home}.", markup=False)
        return
    try:
        _serve(settings, idle_minutes, watch, quiet)
    finally:  # whatever ended it, it is no longer starting (client.ask_once_started)
        starting_path(settings.home).unlink(missing_ok=True)


def _serve(settings: Settings, idle_minutes: float | None, watch: bool, quiet: bool) -> None:
    from localsearch.cli.output import stderr
    from localsearch.server.service import SearchServer

    require_index(settings)
    minutes = settings.server_idle_minutes if idle_minutes is None else idle_minutes
    if watch and idle_minutes is None:
        minutes = 0  # a watching server keeps the index fresh even when nobody searches
    server = SearchServer(
        settings,
        idle_seconds=minutes * 60,
        log=(lambda line: None) if quiet else (lambda line: stderr.print(line, markup=False)),
        watch=watch,
    )
    server.run()


def _finite(minutes: float | None) -> float | None:
    if minutes is not None and not math.isfinite(minutes):
        raise click.BadParameter(f"{minutes} is not a number of minutes")
    return minutes


def _wait_until_gone(home: Path, timeout: float = 10.0) -> None:
    from localsearch.server.client import server_lock_held

    deadline = time.monotonic() + timeout
    while server_lock_held(home) and time.monotonic() < deadline:
        time.sleep(0.05)
