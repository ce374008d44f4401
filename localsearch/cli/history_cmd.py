"""`localsearch history` and `localsearch feedback`: the user's own log of searches."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from localsearch.cli import home_option, reading_only, settings_from
from localsearch.cli.output import print_json, stdout
from localsearch.config import Settings
from localsearch.errors import LocalSearchError, UsageError
from localsearch.history import LoggedSearch, SearchHistory, open_history
from localsearch.store.database import ChunkRow
from localsearch.store.document_filter import filter_words
from localsearch.terminal_text import one_line
from localsearch.wording import plural

OFF_HINT = "set record_history = true in config.toml and unset LOCALSEARCH_RECORD_HISTORY"
MARK_LABELS = {"opened": "opened", "relevant": "this is it", "not_relevant": "not this"}
LISTED_QUERY_CHARS = 150  # a page pasted into search is shown by its start; --json has it whole


@click.command()
@home_option
@click.option(
    "-n",
    "limit",
    type=click.IntRange(min=1, max=2**63 - 1),  # SQLite's LIMIT is a 64-bit integer
    default=20,
    show_default=True,
    help="How many searches to list, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.option("--clear", is_flag=True, help="Delete every recorded search.")
@click.option(
    "--delete",
    "delete_ids",
    type=int,
    multiple=True,
    metavar="ID",
    help="Delete the search #ID (as listed); repeat for more.",
)
@click.option("-y", "--yes", is_flag=True, help="With --clear: do not ask first.")
@click.pass_context
def history(
    ctx: click.Context,
    home: Path | None,
    limit: int,
    as_json: bool,
    clear: bool,
    delete_ids: tuple[int, ...],
    yes: bool,
) -> None:
    """List your recorded searches and what you opened or marked.

    The log stays in your database and never leaves the machine; record_history = false in
    config.toml (or LOCALSEARCH_RECORD_HISTORY=0) turns recording off.
    """
    if clear and ctx.get_parameter_source("limit") is not ParameterSource.DEFAULT:
        raise UsageError(
            "-n does not narrow --clear, which deletes every search",
            "to delete some, give --delete ID (the #ID `localsearch history` lists)",
        )
    if clear and delete_ids:
        raise UsageError("give --clear or --delete, not both")
    settings = settings_from(ctx, home)
    if delete_ids and not settings.database_path.exists():
        raise UsageError(f"no search #{delete_ids[0]} in the history", "see `localsearch history`")
    if not settings.database_path.exists():
        if as_json:
            print_json([])
        else:
            stdout.print("No searches recorded.", markup=False)
        return
    with open_history(settings) as log:
        if delete_ids:
            deleted = log.delete(delete_ids)
            _forget_trained_queries(settings)
            if as_json:
                print_json({"deleted": deleted})
            else:
                stdout.print(f"Deleted {plural(deleted, 'search')} from the history.", markup=False)
            return
        if clear:
            if not (yes or as_json) and sys.stdin.isatty() and not _confirm_clear(log.count()):
                stdout.print("Nothing deleted.", markup=False)
                return
            deleted = log.clear()
            _forget_trained_queries(settings)
            active = log.store.active_space()
            untaught = _model_before_history(settings, active.model) if active else None
            if as_json:
                print_json({"deleted": deleted, "active_model_learnt_from_them": bool(untaught)})
                return
            stdout.print(f"Deleted {plural(deleted, 'search')} from the history.", markup=False)
            if active and untaught:
                stdout.print(
                    f"The active model, {active.model}, was adapted from searches in it and keeps"
                    f" what it learnt; `localsearch models use {untaught}` goes back to a model"
                    " that did not learn from them.",
                    markup=False,
                )
            return
        with reading_only():
            _list_searches(log, limit, as_json)


def _list_searches(log: SearchHistory, limit: int, as_json: bool) -> None:
    searches = log.searches(limit=limit)
    chunks = log.store.chunks_by_id(
        [c for s in searches for c in (*s.opened, *s.relevant, *s.not_relevant)]
    )
    if as_json:
        print_json([search_dict(s, chunks) for s in searches])
        return
    if not searches:
        off = "" if log.enabled else f" Recording is off ({OFF_HINT} to turn it on)."
        stdout.print("No searches recorded." + off, markup=False)
        return
    for search in searches:
        when = datetime.fromtimestamp(search.at).strftime("%Y-%m-%d %H:%M")
        stdout.print(
            f"#{search.id}  {when}  {search.source} {search.mode}  {listed_query(search.query)}"
            f"{filters_text(search)}  ({plural(len(search.shown), 'result')})",
            markup=False,
        )
        for field, label in MARK_LABELS.items():
            for chunk_id in getattr(search, field):
                stdout.print(f"    {label}: {describe(search, chunk_id, chunks)}", markup=False)


def _forget_trained_queries(settings: Settings) -> None:
    from localsearch.adapt.models import forget_trained_queries  # adapt is slow to import

    forget_trained_queries(settings.models_dir)


def _model_before_history(settings: Settings, model: str) -> str | None:
    from localsearch.adapt.models import model_before_history

    return model_before_history(settings.models_dir, model)


def _confirm_clear(count: int) -> bool:
    """At a terminal the log is not cleared on one word: adapt learns from it."""
    if count == 0:
        return True
    try:
        return click.confirm(
            f"Delete {'the' if count == 1 else 'all'} {plural(count, 'recorded search')}?"
            " `localsearch adapt` learns from them",
            default=False,
            err=True,
        )
    except click.Abort:  # end of input: no answer is not a yes
        return False


def listed_query(query: str) -> str:
    if len(query) <= LISTED_QUERY_CHARS:
        return one_line(query)
    return f"{one_line(query[:LISTED_QUERY_CHARS]).rstrip()}… ({len(query):,} characters)"


def filters_text(search: LoggedSearch) -> str:
    words = filter_words(search.path_glob, search.doc_types)
    return f"  {words}" if words else ""


def describe(search: LoggedSearch, chunk_id: int, chunks: dict[int, ChunkRow]) -> str:
    chunk = chunks.get(chunk_id)
    where = "?" if chunk is None else f"{chunk.path}:{chunk.start_line}"
    rank = search.shown.index(chunk_id) + 1 if chunk_id in search.shown else None
    return f"{rank}. {where}" if rank else where


def search_dict(search: LoggedSearch, chunks: dict[int, ChunkRow]) -> dict[str, Any]:
    def located(chunk_id: int) -> dict[str, Any]:
        chunk = chunks.get(chunk_id)
        return {
            "chunk_id": chunk_id,
            "rank": search.shown.index(chunk_id) + 1 if chunk_id in search.shown else None,
            "path": chunk.path if chunk else None,
            "start_line": chunk.start_line if chunk else None,
            "end_line": chunk.end_line if chunk else None,
        }

    return {
        "id": search.id,
        "query": search.query,
        "mode": search.mode,
        "source": search.source,
        "at": search.at,
        "path_glob": search.path_glob,
        "doc_types": list(search.doc_types),
        "shown": list(search.shown),
        "opened": [located(c) for c in search.opened],
        "relevant": [located(c) for c in search.relevant],
        "not_relevant": [located(c) for c in search.not_relevant],
    }


@click.command()
@click.argument("rank", type=click.IntRange(min=1), metavar="N")
@home_option
@click.option("--good", is_flag=True, help="Result N is what you wanted.")
@click.option("--bad", is_flag=True, help="Result N is not it.")
@click.option(
    "--search",
    "search_id",
    type=int,
    help="A search from `localsearch history` (default: your last `localsearch search`).",
)
@click.pass_context
def feedback(
    ctx: click.Context,
    rank: int,
    home: Path | None,
    good: bool,
    bad: bool,
    search_id: int | None,
) -> None:
    """Mark result N of your last search as what you wanted (--good) or not (--bad).

    adapt learns from these marks and from what you open.
    """
    if good == bad:
        raise UsageError("say --good or --bad" + (", not both" if good else ""))
    verdict = "relevant" if good else "not_relevant"
    settings = settings_from(ctx, home)
    with open_history(settings) as log:
        if not log.enabled:
            raise LocalSearchError("the search history is off", OFF_HINT)
        log.store.require_writable()
        search = chosen_search(log, search_id)
        chunk_id = log.shown_at(search.id, rank)
        if chunk_id is None:
            raise UsageError(
                f"search #{search.id} has no result {rank}", "see `localsearch history`"
            )
        log.record_action(search.id, chunk_id, verdict)
        chunk = log.store.chunks_by_id([chunk_id]).get(chunk_id)
        where = f": {chunk.path}:{chunk.start_line}" if chunk else ""
        stdout.print(
            f'Marked result {rank} of search #{search.id} "{search.query}"'
            f' as "{MARK_LABELS[verdict]}"{where}',
            markup=False,
        )


def chosen_search(log: SearchHistory, search_id: int | None) -> LoggedSearch:
    if search_id is not None:
        found = log.search(search_id)
        if found is None:
            raise UsageError(f"no search #{search_id} in the history", "see `localsearch history`")
        return found
    latest = log.latest(source="cli")
    if latest is None:
        raise LocalSearchError(
            "no search to give feedback on", "run `localsearch search QUERY` first"
        )
    return latest


commands = [history, feedback]
