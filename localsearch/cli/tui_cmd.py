"""`localsearch tui` (also a bare `localsearch`): open the interactive search."""

from __future__ import annotations

from pathlib import Path

import click

from localsearch.cli import home_option, settings_from
from localsearch.cli.output import stderr
from localsearch.config import Settings


def run_tui(settings: Settings) -> None:
    from localsearch.tui.app import make_app

    app = make_app(settings)
    app.run()
    if "index" in app.stopped_jobs:
        stderr.print(
            "Indexing stopped as localsearch closed. Everything committed so far is kept and"
            " searchable; run `localsearch index` to finish.",
            markup=False,
        )
    if "adapt" in app.stopped_jobs:
        from localsearch.cli.adapt_cmd import _say_what_an_interruption_left

        _say_what_an_interruption_left(settings)


@click.command()
@home_option
@click.pass_context
def tui(ctx: click.Context, home: Path | None) -> None:
    """Open the interactive search (the same as running `localsearch` with no command)."""
    run_tui(settings_from(ctx, home))


commands = [tui]
