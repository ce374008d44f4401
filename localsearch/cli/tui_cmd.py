"""`localsearch tui` (also a bare `localsearch`): open the interactive search."""

from __future__ import annotations

from pathlib import Path

import click

from localsearch.cli import home_option, settings_from
from localsearch.config import Settings


def run_tui(settings: Settings) -> None:
    from localsearch.tui.app import make_app

    make_app(settings).run()


@click.command()
@home_option
@click.pass_context
def tui(ctx: click.Context, home: Path | None) -> None:
    """Open the interactive search (the same as running `localsearch` with no command)."""
    run_tui(settings_from(ctx, home))


commands = [tui]
