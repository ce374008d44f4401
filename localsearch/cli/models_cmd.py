"""`localsearch models`: list models, pull one, switch the index to one, or roll back."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from localsearch.cli import home_option, quiet_option, reading_only, settings_from, wait_option
from localsearch.cli.output import RichProgress, human_bytes, print_json, stderr, stdout
from localsearch.wording import plural

if TYPE_CHECKING:
    from localsearch.adapt.models import ModelInfo
    from localsearch.config import Settings

# Columns the notes need beside the rest; with fewer, they go on a line under each model.
NOTES_MIN_WIDTH = 30


@click.group(invoke_without_command=True)
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def models(ctx: click.Context, home: Path | None, as_json: bool) -> None:
    """List the models: bundled, pulled, adapted, and the one searches use."""
    if ctx.invoked_subcommand is None:
        _list(ctx, home, as_json)


def _list(ctx: click.Context, home: Path | None, as_json: bool) -> None:
    with reading_only():
        _print_list(settings_from(ctx, home), as_json)


def _print_list(settings: Settings, as_json: bool) -> None:
    from localsearch.adapt.models import list_models, run_log

    infos = list_models(settings)
    if as_json:
        print_json([info.to_dict() for info in infos])
        return
    rows = [
        ("*" if info.active else "", info.name, info.role, _status(info), _notes(info))
        for info in infos
    ]
    _print_models(rows)
    runs = run_log(settings.models_dir)
    if runs and not runs[-1].get("kept"):
        last = runs[-1]
        when = _when(last.get("created_at"))
        stderr.print(
            f"The last adapt run ({last.get('name')}{when}) was not kept:"
            f" {last.get('metrics', {}).get('reason', 'not better')}.",
            markup=False,
        )


def _when(timestamp: object) -> str:
    """ ", 2026-11-30 14:05" for a run's time, or nothing for a record without one."""
    import datetime as dt

    if not isinstance(timestamp, int | float):
        return ""
    try:
        return f", {dt.datetime.fromtimestamp(timestamp).strftime('%Y-%m-%d %H:%M')}"
    except (OverflowError, OSError, ValueError):  # a hand-edited log
        return ""


def _status(info: ModelInfo) -> str:
    return info.origin + (f", {plural(info.vectors, 'vector')}" if info.vectors is not None else "")


def _notes(info: ModelInfo) -> str:
    notes = info.notes
    if info.card:
        new = info.card.get("metrics", {}).get("new", {})
        old = info.card.get("metrics", {}).get("current", {})
        if new and old:
            gains = [
                f"{(new[mode]['ndcg_at_10'] - old[mode]['ndcg_at_10']) * 100:+.1f} {mode}"
                for mode in ("dense", "hybrid")
                if mode in new and mode in old
            ]
            if gains:
                notes += "; held-out nDCG@10 " + ", ".join(gains)
    return notes


def _print_models(rows: Sequence[tuple[str, ...]]) -> None:
    """One line a model, its notes beside it where the terminal leaves them room, else on an
    indented line of their own (a notes column a few letters wide is unreadable)."""
    from rich.table import Table
    from rich.text import Text

    header = ("", "name", "role", "status")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(4)]
    if stdout.width - sum(widths) - 2 * len(widths) >= NOTES_MIN_WIDTH:
        table = Table(box=None, pad_edge=False)
        # The name is what `models pull` and `models use` take: never cut; the notes wrap.
        table.add_column("")
        table.add_column("name", no_wrap=True, min_width=widths[1])
        table.add_column("role", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("notes", ratio=1)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # names are not markup
        stdout.print(table)
        return
    for row in [header, *rows]:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        stdout.print(line.rstrip(), markup=False, style="bold" if row is header else None)
        if row is not header and row[4]:
            wrapped = textwrap.fill(
                row[4], max(stdout.width - 1, 20), initial_indent="     ", subsequent_indent="     "
            )
            stdout.print(wrapped, markup=False, style="dim")


@models.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def list_command(ctx: click.Context, home: Path | None, as_json: bool) -> None:
    """List the models (the default)."""
    _list(ctx, home, as_json)


def _model_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from localsearch.catalog import EMPTY_MODEL_HINT
    from localsearch.errors import UsageError

    if not value.strip():  # an unset shell variable; as a path it would be the current folder
        raise UsageError("a model name cannot be empty", EMPTY_MODEL_HINT)
    return value


@models.command()
@click.argument("name", callback=_model_name)
@home_option
@click.pass_context
def pull(ctx: click.Context, name: str, home: Path | None) -> None:
    """Download a model from the Hugging Face Hub (the only command that uses the network)."""
    from localsearch.adapt.pull import pull_model, pull_target, require_writable

    settings = settings_from(ctx, home)
    pull_target(name)  # a name that cannot be pulled is refused before "Downloading"
    require_writable(settings.models_dir)
    stderr.print(f"Downloading {name}...", markup=False)
    pulled = pull_model(name, settings.models_dir)
    if pulled.already_present:
        stdout.print(f"{pulled.name} is already here: {pulled.location}", markup=False)
        return
    stdout.print(
        f"Pulled {pulled.name} ({human_bytes(pulled.bytes)} in {pulled.seconds:.0f}s) to"
        f" {pulled.location}",
        markup=False,
    )


@models.command()
@click.argument("name", callback=_model_name)
@home_option
@wait_option
@quiet_option
@click.pass_context
def use(ctx: click.Context, name: str, home: Path | None, wait_seconds: float, quiet: bool) -> None:
    """Make searches use model NAME (re-embeds only what its vectors lack)."""
    from localsearch.adapt.models import switch_model

    settings = settings_from(ctx, home)
    with RichProgress(enabled=not quiet) as progress:
        result = switch_model(settings, name, progress=progress, wait_seconds=wait_seconds)
    _report(result)


@models.command()
@home_option
@wait_option
@quiet_option
@click.pass_context
def rollback(ctx: click.Context, home: Path | None, wait_seconds: float, quiet: bool) -> None:
    """Go back to the model that was active before the current one."""
    from localsearch.adapt.models import switch_model

    settings = settings_from(ctx, home)
    with RichProgress(enabled=not quiet) as progress:
        result = switch_model(
            settings, "", progress=progress, wait_seconds=wait_seconds, rollback=True
        )
    _report(result)


def _report(result: object) -> None:
    from localsearch.adapt.models import SwitchResult

    assert isinstance(result, SwitchResult)
    if result.already_active:
        stdout.print(f"{result.model} is already the active model.", markup=False)
        return
    embedded = f" ({plural(result.embedded, 'chunk')} embedded)" if result.embedded else ""
    if result.kept_from is not None:
        embedded = f"; the same weights as {result.kept_from}, whose vectors it keeps{embedded}"
    stdout.print(
        f"Searches now use {result.model} (was {result.previous}){embedded}.", markup=False
    )


commands = [models]
