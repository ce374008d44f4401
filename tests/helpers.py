"""Small helpers the test modules share: the CLI in-process, a folder indexed into a home."""

from __future__ import annotations

from pathlib import Path

import pytest

from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.store import Store


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from localsearch.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def index_files(base: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """Write `files` under base/docs and index them into base/home: (docs, home)."""
    docs = base / "docs"
    for name, text in files.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    home = base / "home"
    index = Index(load_settings(home))
    try:
        index.update([docs])
    finally:
        index.close()
    return docs, home


def active_model(settings) -> str:  # type: ignore[no-untyped-def]
    store = Store(settings.database_path)
    try:
        space = store.active_space()
        assert space is not None
        return space.model
    finally:
        store.close()
