"""`localsearch search`: ask the resident server, else search in-process; print either way.

The module imports little (no engine, no rich until a terminal wants colour), because a search
answered by the server should cost a Python start-up and a socket round trip, not seconds.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from localsearch.cli import home_option, reading_only, settings_from
from localsearch.config import Settings
from localsearch.errors import UsageError
from localsearch.ingest.types import page_label
from localsearch.search.modes import FUSIONS, MODES
from localsearch.search.since import since_time
from localsearch.terminal_text import one_line, safe_json, terminal_safe
from localsearch.wording import also_at, plural

SERVER_HELP = (
    "A running `localsearch serve` answers in milliseconds with the model already loaded; when"
    " none runs, this searches in-process and then starts one in the background for the next"
    " search (turn that off with the setting server_autostart = false or"
    " LOCALSEARCH_SERVER_AUTOSTART=0)."
)

WEAK_MATCH_NOTE = "Weak match: nothing here matches the query well; these are only the nearest."


def location(hit: dict[str, Any]) -> str:
    where = f"{hit['path']}:{hit['start_line']}"
    if hit["end_line"] > hit["start_line"]:
        where += f"-{hit['end_line']}"
    if hit.get("page") is not None:
        where += f" ({page_label(hit.get('type', ''), hit['page'])})"
    return where


@click.command(help="Search the index.\n\n" + SERVER_HELP)
@click.argument("query")
@home_option
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of results.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--fusion", type=click.Choice(FUSIONS), help="How hybrid mode combines rankings.")
@click.option("--path", "path_glob", help="Only paths matching this glob, e.g. 'docs/*' or '*.md'.")
@click.option("--type", "doc_types", multiple=True, help="Only this file type (md, pdf, py…).")
@click.option(
    "--since",
    metavar="WHEN",
    help="Only files modified since a date (2026-11-01) or within an age (12h, 3d, 2w, 6m, 1y).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--explain", is_flag=True, help="Show BM25 and dense ranks and scores per result.")
@click.option(
    "--open",
    "open_rank",
    type=click.IntRange(min=1),
    metavar="N",
    help="Open result N: $EDITOR at its line for text, the desktop's opener otherwise.",
)
@click.option(
    "--per-doc",
    "per_doc",
    type=int,
    default=1,
    show_default=True,
    help="Chunks shown per document: its best, then up to N-1 more places it matches.",
)
@click.option(
    "--duplicates/--no-duplicates",
    default=None,
    help="Show each copy of a file as its own result; by default copies are one result"
    " that says where the others are (setting collapse_duplicates).",
)
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
    since: str | None,
    as_json: bool,
    explain: bool,
    open_rank: int | None,
    per_doc: int,
    duplicates: bool | None,
) -> None:
    if not query.strip():
        raise UsageError("the query is empty", 'give words to search for: localsearch search "…"')
    types = [t for value in doc_types for t in value.split(",") if t]
    # An empty filter is most often a shell variable that was not set: not "every file".
    if path_glob == "":
        raise UsageError("--path is empty", "give a glob such as 'notes/*' or '*.md'")
    if doc_types and not types:
        raise UsageError("--type is empty", "give a file type such as md or pdf")
    if since is not None:
        since_time(since, time.time())  # a clear error before the server or the index is asked
    collapse = None if duplicates is None else not duplicates
    settings = settings_from(ctx, home, collapse_duplicates=collapse)
    # Arguments that are not UTF-8 arrive with lone surrogates, which JSON to the server cannot
    # carry: the query reads such bytes as U+FFFD, a --path glob as the `\xNN` names are stored.
    query = os.fsencode(query).decode("utf-8", "replace")
    if path_glob:
        path_glob = os.fsencode(path_glob).decode("utf-8", "backslashreplace")
    request = {
        "op": "search",
        "query": query,
        "k": k,
        "mode": mode,
        "fusion": fusion,
        "path_glob": path_glob,
        "doc_types": types,
        "since": since,
        "explain": True,
        "history": "cli" if settings.record_history else None,
    }
    if per_doc != 1:
        request["per_doc"] = per_doc  # only when asked: an older server answers the rest
    # The search log's one row aside, a search writes nothing, and a Ctrl-C takes that out.
    with reading_only(), _forgotten_if_interrupted(settings) as logged:
        results = run_search(settings, request, logged)
        for warning in results.get("warnings", []):
            sys.stderr.write(terminal_safe(f"Warning: {warning}") + "\n")
        results.setdefault("search_id", None)  # an older server does not say
        hits = results["results"]
        if as_json:
            if not explain:
                for hit in hits:
                    hit.pop("explain", None)
            _write(_json(results))
        else:
            print_results(results, explain)
    # After the results: the search is in the history with what it showed, so it shows them.
    if open_rank is not None and open_rank > len(hits):
        found = plural(len(hits), "result")
        raise UsageError(f"no result {open_rank}: the search found {found}")
    if open_rank is not None:
        open_result(settings, results["search_id"], hits[open_rank - 1])


@contextmanager
def _forgotten_if_interrupted(settings: Settings) -> Iterator[list[int]]:
    """A list for the ids of the searches logged in the history on this command's behalf; a
    Ctrl-C before their results are printed takes them out again, since no one saw them."""
    logged: list[int] = []
    try:
        yield logged
    except KeyboardInterrupt:
        if logged:
            from localsearch.server.live_engine import forget_search
            from localsearch.store import Store

            store = Store(settings.database_path)
            try:
                for search_id in logged:
                    forget_search(store, search_id)
            finally:
                store.close()
        raise


def run_search(settings: Settings, request: dict[str, Any], logged: list[int]) -> dict[str, Any]:
    """Results as SearchResults.to_dict(explain=True), from the server or from this process;
    the id of the search logged in the history, if any, goes into `logged` once known."""
    from localsearch.server.client import ask, start_in_background, suspended_server
    from localsearch.server.protocol import search_settings

    suspended = suspended_server(settings.home)
    if suspended is None:
        reply = ask(
            settings.home, {**request, "settings": search_settings(settings)}, on_notice=_say
        )
        if reply is not None:
            results: dict[str, Any] = reply["results"]
            if results.get("search_id") is not None:
                logged.append(results["search_id"])
            return results
    else:
        from localsearch.cli.serve_cmd import suspended_words

        what, remedy = suspended_words(settings.home, suspended)
        sys.stderr.write(terminal_safe(f"Note: {what}, so this searched without it; {remedy}.\n"))
    from localsearch.search.engine import SearchEngine

    engine = SearchEngine(settings)
    engine.notify = _say
    try:
        found = engine.search(
            request["query"],
            k=request["k"],
            mode=request["mode"],
            path_glob=request["path_glob"],
            doc_types=request["doc_types"],
            fusion=request["fusion"],
            per_doc=request.get("per_doc", 1),
            since=request.get("since"),
        )
        search_id = None
        if request["history"]:
            from localsearch.server.live_engine import record_search

            search_id = record_search(engine.store, found, request["history"])
            if search_id is not None:
                logged.append(search_id)
    finally:
        engine.close()
    if settings.server_autostart:
        start_in_background(settings.home)
    return {**found.to_dict(explain=True), "search_id": search_id}


def _say(line: str) -> None:
    """A line the engine has for the user before a wait (BM25 rebuilt for a new version)."""
    sys.stderr.write(terminal_safe(line) + "\n")
    sys.stderr.flush()


def open_result(settings: Settings, search_id: int | None, hit: dict[str, Any]) -> None:
    """Open a result with the TUI's opener ($EDITOR at the line, a PDF at its page) and log it."""
    from localsearch.history import open_history
    from localsearch.opener import OpenFailed, SystemOpener

    path = Path(hit["path"])
    if not path.exists():
        from localsearch.ingest.containers import unpack_member
        from localsearch.ingest.extract import ExtractionError
        from localsearch.ingest.types import MEMBER_SEPARATOR

        if MEMBER_SEPARATOR in hit["path"]:  # a member of an archive: a private unpacked copy
            try:
                path = unpack_member(hit["path"])
            except ExtractionError as exc:
                raise OpenFailed(f"cannot open {hit['path']}: {exc}") from None
        else:
            path = Path(_file_named(settings, hit["path"]))
            if not path.exists():
                _say_if_its_root_is_gone(settings, path)
    page = hit.get("page")
    SystemOpener().open_file(path, None if page is not None else hit["start_line"], page)
    if search_id is not None:
        with open_history(settings) as history:
            history.record_action(search_id, hit["chunk_id"], "open")
    sys.stderr.write(f"Opened {one_line(location(hit))}\n")
    if search_id is None and settings.record_history and not os.access(settings.home, os.W_OK):
        sys.stderr.write(
            "Note: the data folder is read-only, so this search and open are not in your"
            " history (adapt learns from it).\n"
        )


def _say_if_its_root_is_gone(settings: Settings, path: Path) -> None:
    """Re-indexing keeps the documents of a folder that is gone (a disk not mounted), so a
    file gone with it needs another remedy than "re-index"."""
    from localsearch.opener import check_root_present
    from localsearch.store import Store

    store = Store(settings.database_path)
    try:
        roots = [root for _, root, _ in store.roots()]
    finally:
        store.close()
    check_root_present(path, roots, "drop it from the index: `localsearch roots --remove {root}`")


def _file_named(settings: Settings, shown: str) -> str:
    """The file a result names: its exact bytes where the name is not UTF-8 (shown escaped)."""
    from localsearch.store import Store

    store = Store(settings.database_path)
    try:
        found = store.indexed_path(shown)
    finally:
        store.close()
    return shown if found is None else found[1]


def print_results(results: dict[str, Any], explain: bool) -> None:
    """Plain lines into a pipe; on a terminal the same lines with rich's colours."""
    if results["results"] and results.get("weak_match"):
        sys.stderr.write(WEAK_MATCH_NOTE + "\n")
    if not _colour_wanted():
        if not results["results"]:
            _write("No results.\n")
        for rank, hit in enumerate(results["results"], start=1):
            _write("".join(f"{one_line(line)}\n" for line in _plain_lines(rank, hit, explain)))
        return
    from rich.text import Text

    from localsearch.cli.output import highlighted, stdout

    def print_passage(passage: dict[str, Any], lead: str, indent: str) -> None:
        where = Text(lead + one_line(location(passage)), style="cyan")
        if passage["heading"]:
            where.append(f" › {passage['heading']}", style="dim")
        stdout.print(where)
        spans = [(int(a), int(b)) for a, b in passage["highlights"]]
        stdout.print(Text(indent) + highlighted(passage["snippet"], spans))

    if not results["results"]:
        stdout.print("No results.", markup=False)
    for rank, hit in enumerate(results["results"], start=1):
        header = Text(f"{rank}. ")
        header.append(one_line(_title(hit)), style="bold")
        header.append(f"  {hit['score']:.4f}", style="dim")
        stdout.print(header)
        print_passage(hit, "   ", "   ")
        if explain:
            stdout.print(_explain_line(hit), markup=False, style="dim")
        for more in hit.get("more", []):
            print_passage(more, "   + ", "     ")
        left = hit.get("more_count", 0) - len(hit.get("more", []))
        if left > 0:
            stdout.print(f"   ({left} more in this file)", style="dim", markup=False)
        if hit.get("also_at"):
            stdout.print("   " + also_at_line(hit["also_at"]), style="dim", markup=False)


def _plain_lines(rank: int, hit: dict[str, Any], explain: bool) -> list[str]:
    lines = [
        f"{rank}. {_title(hit)}  {hit['score']:.4f}",
        "   " + location(hit) + (f" › {hit['heading']}" if hit["heading"] else ""),
        "   " + hit["snippet"],
    ]
    if explain:
        lines.append(_explain_line(hit))
    for more in hit.get("more", []):
        lines.append(
            "   + " + location(more) + (f" › {more['heading']}" if more["heading"] else "")
        )
        lines.append("     " + more["snippet"])
    left = hit.get("more_count", 0) - len(hit.get("more", []))
    if left > 0:
        lines.append(f"   ({left} more in this file)")
    if hit.get("also_at"):
        lines.append("   " + also_at_line(hit["also_at"]))
    return lines


def also_at_line(paths: list[str]) -> str:
    return also_at([one_line(path) for path in paths])


def _title(hit: dict[str, Any]) -> str:
    return str(hit["title"] or Path(hit["path"]).name)


def _explain_line(hit: dict[str, Any]) -> str:
    why = hit["explain"]
    return (
        f"   bm25 rank {why['bm25_rank'] or '-'} score {_fmt(why['bm25_score'])};"
        f" dense rank {why['dense_rank'] or '-'} score {_fmt(why['dense_score'])};"
        + (f" neighbours {why['neighbours']:+.4f};" if why.get("neighbours") is not None else "")
        + f" fused {hit['score']:.4f}"
    )


def _colour_wanted() -> bool:
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _json(data: Any) -> str:
    return safe_json(data) + "\n"


def _write(text: str) -> None:
    sys.stdout.write(text)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
