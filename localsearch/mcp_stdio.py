"""MCP over stdin and stdout that answers every request it read before stdin closed.

The SDK's stdio transport ends the session as soon as stdin reaches its end, dropping the
requests still being handled: a script that pipes a few requests in (`printf … | localsearch
mcp`) got answers to the first one or two. Here stdin's end is held back until every request
read has had its response written (or DRAIN_SECONDS have passed), then the session ends as the
SDK's does. A line that is not a JSON-RPC message is answered here with JSON-RPC's own error
(parse error, invalid request); the SDK dropped it without a word, so its sender waited forever.

Like the SDK's own transport, the process's fd 0 and fd 1 are moved aside while serving, so a
library or child process that prints cannot corrupt the protocol stream: fd 1 then goes to
stderr and fd 0 reads nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

import anyio

DRAIN_SECONDS = 600.0  # a search over a cold index on a busy machine takes seconds, not minutes
_POLL_SECONDS = 0.02
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


class _Unanswered:
    """Ids of the requests read whose response has not been written yet."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def read(self, line: str) -> None:
        message = _parsed(line)
        if message is not None and "method" in message and "id" in message:
            self.ids.add(json.dumps(message["id"]))

    def written(self, text: str) -> None:
        message = _parsed(text)
        if message is not None and "id" in message and ("result" in message or "error" in message):
            self.ids.discard(json.dumps(message["id"]))


class _DrainingStdin:
    """The wire's JSON-RPC lines; others are answered with an error, blank ones skipped. At
    their end, waits for the answers still owed."""

    def __init__(self, wire: Any, unanswered: _Unanswered, stdout: _AnsweringStdout) -> None:
        self.wire = wire
        self.unanswered = unanswered
        self.stdout = stdout

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        async for line in self.wire:
            if not line.strip():
                continue
            refusal = _refusal(line)
            if refusal is not None:
                await self.stdout.write(json.dumps(refusal) + "\n")
                await self.stdout.flush()
                continue
            self.unanswered.read(line)
            yield line
        with anyio.move_on_after(DRAIN_SECONDS):
            while self.unanswered.ids:
                await anyio.sleep(_POLL_SECONDS)


class _AnsweringStdout:
    def __init__(self, wire: Any, unanswered: _Unanswered) -> None:
        self.wire = wire
        self.unanswered = unanswered
        self.lock = anyio.Lock()  # the SDK's writer and stdin's refusals, a whole line each

    async def write(self, text: str) -> None:
        async with self.lock:
            await self.wire.write(text)
        self.unanswered.written(text)

    async def flush(self) -> None:
        await self.wire.flush()


def _refusal(line: str) -> dict[str, Any] | None:
    """JSON-RPC's error response to a line that is not a JSON-RPC message; None for one that is."""
    from mcp import types
    from pydantic import ValidationError

    try:
        message = json.loads(line)
    except ValueError as exc:
        return _error(None, PARSE_ERROR, f"Parse error: {exc}")
    try:
        types.jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        identifier = message.get("id") if isinstance(message, dict) else None
        if not isinstance(identifier, (str, int)) or isinstance(identifier, bool):
            identifier = None
        return _error(
            identifier,
            INVALID_REQUEST,
            'Invalid Request: not a JSON-RPC 2.0 message ({"jsonrpc": "2.0", "method": …})',
        )
    return None


def _error(identifier: str | int | None, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": identifier, "error": {"code": code, "message": message}}


def _parsed(line: str) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _claim_standard_streams() -> tuple[int, int]:
    """Private copies of fd 0 and fd 1 for the protocol; fd 0 then reads /dev/null and fd 1
    writes to stderr."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return wire_in, wire_out


async def serve_stdio(lowlevel_server: Any) -> None:
    """Run an MCP server (the SDK's low-level Server) over this process's stdin and stdout."""
    from mcp.server.stdio import stdio_server

    wire_in, wire_out = _claim_standard_streams()
    unanswered = _Unanswered()
    with (
        open(wire_in, encoding="utf-8", errors="replace") as stdin,  # noqa: ASYNC230
        open(wire_out, "w", encoding="utf-8") as stdout,  # noqa: ASYNC230
    ):
        answering = _AnsweringStdout(anyio.wrap_file(stdout), unanswered)
        async with stdio_server(
            stdin=_DrainingStdin(anyio.wrap_file(stdin), unanswered, answering),  # type: ignore[arg-type]
            stdout=answering,  # type: ignore[arg-type]
        ) as (read_stream, write_stream):
            await lowlevel_server.run(
                read_stream, write_stream, lowlevel_server.create_initialization_options()
            )
