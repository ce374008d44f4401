"""MCP over stdin and stdout that answers every request it read before stdin closed.

The SDK's stdio transport ends the session as soon as stdin reaches its end, dropping the
requests still being handled: a script that pipes a few requests in (`printf … | localsearch
mcp`) got answers to the first one or two. Here stdin's end is held back until every request
read has had its response written (or DRAIN_SECONDS have passed), then the session ends as the
SDK's does.

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
    """The wire's lines; at their end, waits for the answers still owed."""

    def __init__(self, wire: Any, unanswered: _Unanswered) -> None:
        self.wire = wire
        self.unanswered = unanswered

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        async for line in self.wire:
            self.unanswered.read(line)
            yield line
        with anyio.move_on_after(DRAIN_SECONDS):
            while self.unanswered.ids:
                await anyio.sleep(_POLL_SECONDS)


class _AnsweringStdout:
    def __init__(self, wire: Any, unanswered: _Unanswered) -> None:
        self.wire = wire
        self.unanswered = unanswered

    async def write(self, text: str) -> None:
        await self.wire.write(text)
        self.unanswered.written(text)

    async def flush(self) -> None:
        await self.wire.flush()


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
        async with stdio_server(
            stdin=_DrainingStdin(anyio.wrap_file(stdin), unanswered),  # type: ignore[arg-type]
            stdout=_AnsweringStdout(anyio.wrap_file(stdout), unanswered),  # type: ignore[arg-type]
        ) as (read_stream, write_stream):
            await lowlevel_server.run(
                read_stream, write_stream, lowlevel_server.create_initialization_options()
            )
