"""Small JSON files beside the database (model cards, markers, the BM25 index's state):
written whole or not at all, and read as "nothing there" when missing or damaged."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_json_object(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Through a temporary file and a rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
