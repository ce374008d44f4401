"""`localsearch mcp`: the index as Model Context Protocol tools for coding agents, over stdio.

Read-only by design: `search`, `get` (a document, or a line range of one, only if it is in the
index) and `status`; nothing here writes, deletes or reaches outside the indexed documents.
One warm engine for the process's life, so an agent's later searches cost milliseconds. Engine
errors become MCP tool errors with the engine's message, and bad arguments (a wrong type, an
argument a tool does not have) one-line errors that name them, so nothing an agent sends
crashes the server or is silently ignored.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import ValidationError

from localsearch import __version__
from localsearch.config import Settings
from localsearch.errors import LocalSearchError, UsageError
from localsearch.ingest.types import ExtractedDocument
from localsearch.search.since import since_time
from localsearch.server.live_engine import LiveEngine
from localsearch.store.document_filter import filter_words

MAX_GET_CHARS = 200_000  # a whole book would drown an agent's context; it can ask for lines
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
_CATCH_UP = "lines may not match what `search` reported; run `localsearch index` to catch up"
INSTRUCTIONS = (
    "Semantic and keyword search over the user's own indexed files. Use `search` to find"
    " passages, then `get` with the path and lines to read more of a document."
)


class Tools:
    """What the MCP tools do, apart from the protocol; one engine, one call at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = LiveEngine(settings)
        self._lock = threading.Lock()

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        path: str | None = None,
        types: list[str] | None = None,
        since: str | None = None,
    ) -> dict[str, Any]:
        if not query.strip():
            raise UsageError("the query is empty: give words to search for")
        if k < 1:  # before the engine, whose message names the CLI's -k
            raise UsageError("k must be at least 1")
        if since:  # as k: the engine's message names the CLI's --since
            since_time(since, time.time(), name="since")
        with self._lock:
            results = self.engine.current().search(
                query,
                k=k,
                mode=mode,
                path_glob=path or None,
                doc_types=types or [],
                since=since or None,
            )
            if self.settings.record_history:
                self.engine.record(results, "mcp")
        hits = [
            {
                "path": hit.path,
                "lines": f"{hit.start_line}-{hit.end_line}",
                "page": hit.page,
                "title": hit.title,
                "heading": hit.heading,
                "snippet": hit.snippet.text,
                "score": round(hit.score, 6),
                **({"also_at": hit.also_at} if hit.also_at else {}),
            }
            for hit in results.hits
        ]
        # The same keys as `search --json`: an agent must not take the nearest for an answer,
        # nor read a mistyped filter's silence as "nothing there".
        answer: dict[str, Any] = {"results": hits, "weak_match": results.weak_match}
        if results.warnings:
            # The engine names the filters as the CLI's flags; an agent sent arguments.
            flags = filter_words(results.path_glob, results.doc_types, results.since)
            named = argument_words(path or None, types or [], since or None)
            answer["warnings"] = [
                warning.replace(flags, named) if flags else warning for warning in results.warnings
            ]
        return answer

    def get(
        self,
        path: str,
        start_line: int | None = None,
        end_line: int | None = None,
        page: int | None = None,
    ) -> dict[str, Any]:
        indexed_mtime = None
        with self._lock:
            found = self._indexed_document(path)
            if found is not None:
                indexed_mtime = self.engine.current().store.indexed_mtime_ns(found[0])
        if found is None:
            raise LocalSearchError(
                f"not an indexed document: {path}",
                "use a path exactly as `search` returned it",
            )
        stored, location = found
        document = read_document(stored, location)
        changed = _mtime_ns(location) != indexed_mtime
        lines = [
            (section.page, section.start_line + offset, line)
            for section in document.sections
            for offset, line in enumerate(section.text.split("\n"))
        ]
        pages = sorted({line_page for line_page, _, _ in lines if line_page is not None})
        if page is not None and page not in pages:
            where = f"pages {pages[0]}-{pages[-1]}" if pages else "no pages"
            raise LocalSearchError(f"no page {page} in {stored}: it has {where}")
        ranged = start_line is not None or end_line is not None
        if page is None and ranged and len(pages) > 1:
            raise LocalSearchError(
                f"{stored} has pages {pages[0]}-{pages[-1]}, each numbering its lines from 1",
                "give `page` with a line range, as `search` reports them",
            )
        first = 1 if start_line is None else start_line
        last_line = max((n for p, n, _ in lines if page is None or p == page), default=0)
        last = last_line if end_line is None else end_line
        if first < 1 or (end_line is not None and last < first) or (ranged and first > last_line):
            raise LocalSearchError(
                f"bad line range {first}-{last}: lines are 1-{last_line}",
                _CATCH_UP if changed else None,
            )
        last = min(last, last_line)
        chosen = [
            text
            for line_page, number, text in lines
            if first <= number <= last and (page is None or line_page == page)
        ]
        text = "\n".join(chosen)
        return {
            "path": stored,
            "title": document.title,
            "type": document.doc_type,
            "start_line": first,
            "end_line": last,
            "last_line": last_line,
            "page": page,
            "text": text[:MAX_GET_CHARS],
            "truncated": len(text) > MAX_GET_CHARS,
            **(
                {"warning": f"{stored} changed since it was indexed: {_CATCH_UP}"}
                if changed
                else {}
            ),
        }

    def _indexed_document(self, path: str) -> tuple[str, str] | None:
        """(stored path, path to open) of `path` if it is an indexed document under a root."""
        from localsearch.index_roots import normalised

        return self.engine.current().store.indexed_path(str(normalised(path)))

    def status(self) -> dict[str, Any]:
        from localsearch.index import Index

        with self._lock:
            self.engine.current()  # the same "no index" error as a search
            index = Index(self.settings)
            try:
                info = asdict(index.status())
            finally:
                index.close()
        return info

    def close(self) -> None:
        self.engine.close()


def argument_words(path: str | None, types: list[str], since: str | None) -> str:
    """The filters as an agent gave them, for messages: `path 'docs/*', types ['md']`."""
    given = {"path": path, "types": types or None, "since": since}
    return ", ".join(f"{name} {value!r}" for name, value in given.items() if value)


def line_range(lines: str, start_line: int | None, end_line: int | None) -> tuple[int, int]:
    """`lines` as search reports them ("12-29", or "12") as (start, end)."""
    if start_line is not None or end_line is not None:
        raise UsageError("give `lines` or start_line and end_line, not both")
    first, dash, last = (part.strip() for part in lines.strip().partition("-"))
    if not first.isdigit() or (dash and not last.isdigit()):
        raise UsageError(f'lines must be as search reports them, e.g. "12-29": not {lines!r}')
    return int(first), int(last or first)


def _file_of(location: str) -> tuple[Path, bool]:
    """The file on disk that holds the document at `location` (an archive member's archive),
    and whether the document is such a member."""
    from localsearch.ingest.types import MEMBER_SEPARATOR

    member = MEMBER_SEPARATOR in location and not Path(location).exists()
    return Path(location.partition(MEMBER_SEPARATOR)[0] if member else location), member


def _mtime_ns(location: str) -> int | None:
    """The modification time of the file at `location`, an archive member's being its
    archive's, as the index keeps it."""
    try:
        return _file_of(location)[0].stat().st_mtime_ns
    except OSError:
        return None


def read_document(stored: str, location: str) -> ExtractedDocument:
    """The indexed document at `location` read again, an archive's member or a mail's
    attachment from a private unpacked copy; raises LocalSearchError when it cannot be read."""
    from localsearch.ingest.containers import member_document
    from localsearch.ingest.extract import ExtractionError, extract_file

    catch_up = "run `localsearch index` to bring the index up to date"
    file, member = _file_of(location)
    if not file.exists():
        raise LocalSearchError(f"{stored} is gone since it was indexed", catch_up)
    try:
        return member_document(location) if member else extract_file(file)
    except ExtractionError as exc:
        raise LocalSearchError(f"cannot read {stored}: {exc}", catch_up) from None


class _ArgumentCheckingServer(MCPServer):
    """The SDK's server, with an argument it does not know refused rather than ignored (an
    agent's "limit" for `k` would silently get ten results) and bad values said in one line
    rather than pydantic's report with its links."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        tool = next((t for t in await self.list_tools() if t.name == name), None)
        if tool is not None:
            known = list(tool.input_schema.get("properties", {}))
            unknown = sorted(set(arguments) - set(known))
            if unknown:
                takes = f"it takes {', '.join(known)}" if known else "it takes none"
                raise ToolError(f"{name} has no argument {', '.join(map(repr, unknown))}: {takes}")
            # pydantic reads true as 1: `k: true` searched for one result.
            properties = tool.input_schema["properties"]
            for field, value in arguments.items():
                wanted = isinstance(value, bool) and _number_kind(properties[field])
                if wanted:
                    raise ToolError(
                        f"bad arguments for {name}: {field}: Input should be a valid {wanted}"
                        f" (got {json.dumps(value)})"
                    )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(f"bad arguments for {name}: {_said(exc.__cause__)}") from None
            raise


def _number_kind(schema: dict[str, Any]) -> str | None:
    """What a JSON schema takes, integer or number, where it takes one of them and no boolean."""
    kinds = {schema.get("type")} | {part.get("type") for part in schema.get("anyOf", [])}
    if "boolean" in kinds:
        return None
    return next((kind for kind in ("integer", "number") if kind in kinds), None)


def _said(error: ValidationError) -> str:
    """A validation error's problems on one line: "k: Input should be a valid integer (got
    'ten'); query is required"."""
    problems = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "missing":
            problems.append(f"{field} is required")
        else:
            given = repr(problem.get("input"))
            given = given if len(given) <= 40 else given[:37] + "..."
            problems.append(f"{field}: {problem['msg']} (got {given})")
    return "; ".join(problems)


def build_server(settings: Settings) -> MCPServer:
    tools = Tools(settings)
    server = _ArgumentCheckingServer(
        name="localsearch",
        version=__version__,
        instructions=INSTRUCTIONS,
        # The SDK logs each refused call at INFO, four boxed lines on the client's stderr
        # for an error the agent was already answered with.
        log_level="INFO" if os.environ.get("LOCALSEARCH_DEBUG") else "WARNING",
    )

    def guarded(call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except LocalSearchError as exc:
            raise ToolError(str(exc)) from None
        except OSError as exc:
            raise ToolError(f"{exc.strerror or exc} ({exc.filename or ''})") from None

    @server.tool(annotations=READ_ONLY)
    def search(
        query: str,
        k: int = 10,
        mode: Literal["hybrid", "bm25", "dense"] = "hybrid",
        path: str | None = None,
        types: list[str] | None = None,
        since: str | None = None,
    ) -> dict[str, Any]:
        """Search the user's indexed files. `results`: the best documents first, each shown
        through its best passage: path, lines, page (a PDF's page, a pptx's slide, a
        spreadsheet's sheet), title, heading, snippet, score, and `also_at`, only for a file
        with identical copies: the copies' paths (a file is one result wherever it is).
        `weak_match` true: nothing matches the query well; the results are only the nearest.
        `warnings`, only when there are any: why results are missing or degraded, e.g. no
        indexed file passes the path or types filter.

        mode: hybrid (keywords and meaning, the default), bm25 (keywords) or dense (meaning).
        path: only paths matching this glob, e.g. 'docs/*' or '*.md'. types: only these file
        types, e.g. ["md", "pdf"]. since: only files modified since a date ("2026-11-01") or
        within an age ("12h", "3d", "2w", "6m", "1y").
        """
        result: dict[str, Any] = guarded(tools.search, query, k, mode, path, types, since)
        return result

    @server.tool(annotations=READ_ONLY)
    def get(
        path: str,
        start_line: int | None = None,
        end_line: int | None = None,
        page: int | None = None,
        lines: str | None = None,
    ) -> dict[str, Any]:
        """The text of an indexed document, or of lines start_line..end_line (1-based,
        inclusive, as `search` reports them; or `lines` as a search result gives them, e.g.
        "12-29"). A PDF, pptx or workbook numbers lines per page, slide or sheet: give a line
        range with the `page` the result reported.
        `last_line`: the document's (or page's) last line number."""
        if lines is not None:
            start_line, end_line = guarded(line_range, lines, start_line, end_line)
        result: dict[str, Any] = guarded(tools.get, path, start_line, end_line, page)
        return result

    @server.tool(annotations=READ_ONLY)
    def status() -> dict[str, Any]:
        """What is indexed: roots, document and chunk counts, the model, sizes."""
        result: dict[str, Any] = guarded(tools.status)
        return result

    return server


def run_stdio(settings: Settings) -> None:
    import anyio

    from localsearch.mcp_stdio import serve_stdio

    # The SDK's own stdio transport drops the requests in flight when stdin closes.
    anyio.run(serve_stdio, build_server(settings)._lowlevel_server)
