"""`localsearch models`: list models, pull one, switch the index to one, or roll back."""

from __future__ import annotations

from pathlib import Path

import click

from localsearch.cli import home_option, quiet_option, settings_from, wait_option
from localsearch.cli.output import RichProgress, human_bytes, print_json, stderr, stdout


@click.group(invoke_without_command=True)
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def models(ctx: click.Context, home: Path | None, as_json: bool) -> None:
    """List the models: bundled, pulled, adapted, and the one searches use."""
    if ctx.invoked_subcommand is None:
        _list(ctx, home, as_json)


def _list(ctx: click.Context, home: Path | None, as_json: bool) -> None:
    from rich.table import Table

    from localsearch.adapt.models import list_models, run_log

    settings = settings_from(ctx, home)
    infos = list_models(settings)
    if as_json:
        print_json([info.to_dict() for info in infos])
        return
    table = Table(box=None, pad_edge=False)
    # The name is what `models pull` and `models use` take: never cut; the notes wrap instead.
    longest = max((len(info.name) for info in infos), default=4)
    table.add_column("")
    table.add_column("name", no_wrap=True, min_width=longest)
    table.add_column("role", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("notes", ratio=1)
    for info in infos:
        status = info.origin
        if info.vectors is not None:
            status += f", {info.vectors} vectors"
        notes = info.notes
        if info.card:
            new = info.card.get("metrics", {}).get("new", {})
            old = info.card.get("metrics", {}).get("current", {})
            if new and old:
                gain = (new["dense"]["ndcg_at_10"] - old["dense"]["ndcg_at_10"]) * 100
                notes += f"; held-out nDCG@10 {gain:+.1f} dense"
        table.add_row("*" if info.active else "", info.name, info.role, status, notes)
    stdout.print(table)
    runs = run_log(settings.models_dir)
    if runs and not runs[-1].get("kept"):
        last = runs[-1]
        stderr.print(
            f"The last adapt run ({last.get('name')}) was not kept:"
            f" {last.get('metrics', {}).get('reason', 'not better')}.",
            markup=False,
        )


@models.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def list_command(ctx: click.Context, home: Path | None, as_json: bool) -> None:
    """List the models (the default)."""
    _list(ctx, home, as_json)


@models.command()
@click.argument("name")
@home_option
@click.pass_context
def pull(ctx: click.Context, name: str, home: Path | None) -> None:
    """Download a model from the Hugging Face Hub (the only command that uses the network)."""
    from localsearch.adapt.pull import pull_model

    settings = settings_from(ctx, home)
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
@click.argument("name")
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
    embedded = f" ({result.embedded} chunks embedded)" if result.embedded else ""
    stdout.print(
        f"Searches now use {result.model} (was {result.previous}){embedded}.", markup=False
    )


commands = [models]
