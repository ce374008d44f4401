"""`localsearch search`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from localsearch.cli import home_option, settings_from
from localsearch.cli.output import highlighted, print_json, stdout
from localsearch.search.engine import FUSIONS, MODES, Hit, SearchEngine


def location(hit: Hit) -> str:
    where = f"{hit.path}:{hit.start_line}"
    if hit.end_line > hit.start_line:
        where += f"-{hit.end_line}"
    if hit.page is not None:
        where += f" (page {hit.page})"
    return where


@click.command()
@click.argument("query")
@home_option
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of results.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--fusion", type=click.Choice(FUSIONS), help="How hybrid mode combines rankings.")
@click.option("--path", "path_glob", help="Only paths matching this glob, e.g. 'docs/*' or '*.md'.")
@click.option("--type", "doc_types", multiple=True, help="Only this file type (md, pdf, py…).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--explain", is_flag=True, help="Show BM25 and dense ranks and scores per result.")
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    home: Path | None,
    k: int,
    mode: str,
    fusion: str | None,
    path_glob: str | None,
    doc_types: tuple[str, ...],
    as_json: bool,
    explain: bool,
) -> None:
    """Search the index."""
    settings = settings_from(ctx, home)
    types = [t for value in doc_types for t in value.split(",") if t]
    engine = SearchEngine(settings)
    try:
        results = engine.search(
            query, k=k, mode=mode, path_glob=path_glob, doc_types=types, fusion=fusion
        )
    finally:
        engine.close()
    if as_json:
        print_json(results.to_dict(explain))
        return
    if not results.hits:
        stdout.print("No results.", markup=False)
        return
    for rank, hit in enumerate(results.hits, start=1):
        header = Text(f"{rank}. ")
        header.append(hit.title or Path(hit.path).name, style="bold")
        header.append(f"  {hit.score:.4f}", style="dim")
        stdout.print(header)
        where = Text("   " + location(hit), style="cyan")
        if hit.heading:
            where.append(f" › {hit.heading}", style="dim")
        stdout.print(where)
        stdout.print(Text("   ") + highlighted(hit.snippet.text, hit.snippet.highlights))
        if explain:
            stdout.print(
                f"   bm25 rank {hit.bm25_rank or '-'} score {_fmt(hit.bm25_score)};"
                f" dense rank {hit.dense_rank or '-'} score {_fmt(hit.dense_score)};"
                f" fused {hit.score:.4f}",
                markup=False,
                style="dim",
            )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
