"""`localsearch index`, `status` and `roots`."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from localsearch.cli import (
    GivenPath,
    home_option,
    quiet_option,
    reading_only,
    settings_from,
    wait_option,
)
from localsearch.cli.output import RichProgress, human_bytes, print_json, stderr, stdout
from localsearch.config import Settings, require_index
from localsearch.index import Index
from localsearch.index_status import IndexStatus
from localsearch.language.advice import multilingual_model_hint
from localsearch.store.migrations import MIGRATIONS
from localsearch.terminal_text import one_line
from localsearch.wording import plural


@click.command()
@click.argument("paths", nargs=-1, type=GivenPath("folder", "the folder to index"))
@home_option
@click.option("--model", help="Embedding model (catalogue name, folder or Hugging Face id).")
@click.option("--reembed", is_flag=True, help="Re-embed every chunk (after a model change).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), help="Encoder device.")
@click.option("--max-file-mb", type=float, help="Skip files larger than this (default 20).")
@wait_option
@click.option("-v", "--verbose", is_flag=True, help="List skipped files with their reasons.")
@quiet_option
@click.pass_context
def index(
    ctx: click.Context,
    paths: tuple[Path, ...],
    home: Path | None,
    model: str | None,
    reembed: bool,
    device: str | None,
    max_file_mb: float | None,
    wait_seconds: float,
    verbose: bool,
    quiet: bool,
) -> None:
    """Index folders (or re-index all known ones when none are given)."""
    settings = settings_from(ctx, home, device=device, max_file_mb=max_file_mb)
    if model is not None:
        from localsearch.catalog import model_reference, resolve_model

        model = model_reference(model, settings.models_dir)
        resolve_model(model, settings.models_dir)  # a model that is not here fails before any work
    engine = Index(settings)
    report = None
    try:
        with RichProgress(enabled=not quiet) as progress:
            report = engine.update(
                list(paths),
                model=model,
                reembed=reembed,
                progress=progress,
                wait_seconds=wait_seconds,
            )
    except KeyboardInterrupt:
        pass
    finally:
        engine.close()
    if report is None:
        _say_what_an_interruption_kept(settings)
        sys.exit(130)
    for warning in report.warnings:
        stderr.print(f"Warning: {warning}", markup=False)
    if verbose:
        for path, reason in report.skipped:
            stderr.print(f"skipped {one_line(path)}: {reason}", markup=False)
    stderr.print(
        f"Indexed in {report.seconds:.1f}s: {report.files_done()}, {report.unchanged} unchanged,"
        f" {len(report.skipped)} skipped; {report.chunks_done()}.",
        markup=False,
    )
    if report.skipped and not verbose:
        stderr.print("Run with --verbose to list skipped files.", markup=False)
    for notice in report.notices:
        stderr.print(notice, markup=False)
    hint = None if quiet else multilingual_model_hint(settings)
    if hint:
        stderr.print(hint, markup=False)


@click.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--skipped", is_flag=True, help="List the files not indexed, and why.")
@click.pass_context
def status(ctx: click.Context, home: Path | None, as_json: bool, skipped: bool) -> None:
    """Show what is indexed: roots, counts, model, sizes."""
    settings = settings_from(ctx, home)
    require_index(settings)
    engine = Index(settings)
    try:
        store = engine.store  # opened first: upgrading an older database is a write
        with reading_only():
            if skipped:
                _print_skipped(store.skipped(), as_json)
                return
            _print_status(engine.status(), as_json)
    finally:
        engine.close()


def _print_status(info: IndexStatus, as_json: bool) -> None:
    if as_json:
        print_json(asdict(info))
        return
    if info.upgraded_from_schema is not None:
        stderr.print(
            f"Upgraded the database to this version's format (schema {info.upgraded_from_schema}"
            f" to {info.schema}).",
            markup=False,
        )
    elif info.schema < len(MIGRATIONS):  # a read-only data folder, where no upgrade can run
        stderr.print(
            f"Note: the database is in an older version's format (schema {info.schema}; this"
            f" version's is {len(MIGRATIONS)}), read as it is; the first command with write"
            " access to its folder upgrades it.",
            markup=False,
        )
    when = (
        dt.datetime.fromtimestamp(info.last_indexed_at).strftime("%Y-%m-%d %H:%M")
        if info.last_indexed_at
        else "never"
    )
    stdout.print(f"Home:       {info.home}", markup=False)
    if info.writer:
        stdout.print(
            f"Running:    {one_line(info.writer)}, writing to the index now; the counts here"
            " are what it has committed so far",
            markup=False,
        )
    stdout.print(
        f"Documents:  {info.documents}  ({plural(info.chunks, 'chunk')},"
        f" {plural(info.skipped, 'skipped file')}"
        + ("; `status --skipped` says why)" if info.skipped else ")"),
        markup=False,
    )
    stdout.print(
        f"Model:      {info.model or 'none'}"
        + (f" ({info.dimension}-d, {plural(info.vectors, 'vector')})" if info.model else ""),
        markup=False,
    )
    if not info.dense_complete:
        # While a run writes, the `localsearch index` it would advise is refused as busy.
        stdout.print(
            f"Dense:      {info.vectors:,} of {plural(info.chunks, 'chunk', separator=',')}"
            " embedded" + ("" if info.writer else "; `localsearch index` embeds the rest"),
            markup=False,
        )
    stdout.print(
        f"Database:   {human_bytes(info.database_bytes)}; BM25 index"
        f" {human_bytes(info.lexical_bytes)}"
        + (f" ({lag})" if (lag := info.lexical_lag()) else ""),
        markup=False,
    )
    stdout.print(f"Last index: {when}", markup=False)
    stdout.print("Roots:", markup=False)
    for root in info.roots:
        stdout.print(
            f"  {one_line(root['path'])}  ({plural(root['documents'], 'document')},"
            f" {plural(root['chunks'], 'chunk')})",
            markup=False,
        )
    _warn_of_missing_roots(info.roots)


def _warn_of_missing_roots(roots: list[dict[str, Any]]) -> None:
    """Indexing keeps a missing folder's documents (a disk not mounted): say what does not."""
    for root in roots:
        if not Path(root["path"]).exists():
            gone = one_line(root["path"])
            stderr.print(
                f"Warning: {gone} is missing; its documents are kept until it is back or"
                f" `localsearch roots --remove {gone}`",
                markup=False,
            )


def _print_skipped(skipped: list[tuple[str, str]], as_json: bool) -> None:
    if as_json:
        print_json([{"path": path, "reason": reason} for path, reason in skipped])
        return
    if not skipped:
        stdout.print("No skipped files: every file found was indexed.", markup=False)
    for path, reason in skipped:
        stdout.print(f"{one_line(path)}: {one_line(reason)}", markup=False)


def _say_what_an_interruption_kept(settings: Settings) -> None:
    """The counts a search now has, rather than the bar's, which counts chunks encoded but
    not yet committed."""
    if not settings.database_path.exists():
        stderr.print("Interrupted before anything was indexed.", markup=False)
        return
    engine = Index(settings)
    try:
        status = engine.status()
    finally:
        engine.close()
    stderr.print(
        f"Interrupted. Kept and searchable: {plural(status.documents, 'document')}"
        f" ({plural(status.chunks, 'chunk')}, {status.vectors} with vectors);"
        " run `localsearch index` again to finish.",
        markup=False,
    )


@click.command()
@home_option
@click.option(
    "--remove",
    "remove",
    type=GivenPath("folder", "the indexed folder to remove"),
    help="Forget this root.",
)
@wait_option
@click.pass_context
def roots(ctx: click.Context, home: Path | None, remove: Path | None, wait_seconds: float) -> None:
    """List indexed folders, or remove one with --remove PATH."""
    settings = settings_from(ctx, home)
    require_index(settings)
    engine = Index(settings)
    try:
        if remove is not None:
            removed = engine.remove_root(remove, wait_seconds)
            stderr.print(
                f"Removed {one_line(str(remove))} ({plural(removed, 'document')}).", markup=False
            )
            return
        with reading_only():
            found = engine.status().roots
            for root in found:
                stdout.print(one_line(root["path"]), markup=False)
            _warn_of_missing_roots(found)
            if not found:
                stderr.print("No folders are indexed: add one with `localsearch index PATH`.")
    finally:
        engine.close()
