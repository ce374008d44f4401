"""`localsearch mcp`: serve the index to MCP clients (coding agents) over stdio."""

from __future__ import annotations

from pathlib import Path

import click

from localsearch.cli import home_option, reading_only, settings_from


@click.command()
@home_option
@click.pass_context
def mcp(ctx: click.Context, home: Path | None) -> None:
    """Serve search to an MCP client over stdin/stdout (read-only tools: search, get, status).

    Configure it in a client with the command `localsearch mcp`, e.g.
    `claude mcp add localsearch -- localsearch mcp`.
    """
    from localsearch.mcp_server import run_stdio

    with reading_only():  # its tools only read
        run_stdio(settings_from(ctx, home))
