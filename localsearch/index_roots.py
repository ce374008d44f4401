"""The folders an index covers: a path given to `index` checked and made absolute, and which
root covers which (one inside a known root is covered by it, one around known roots takes them
in). Shared by the indexer, `watch` and MCP's `get`, which all speak of paths as the user does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from localsearch.config import expand_user
from localsearch.errors import UsageError
from localsearch.store import Store
from localsearch.store.paths import display_path


def normalised(path: Path | str) -> Path:
    """Absolute with `..` folded, but symlinks kept: the user's view of the path."""
    return Path(os.path.abspath(expand_user(path)))


def within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def checked_roots(paths: Sequence[Path]) -> list[Path]:
    """`paths` as roots to index, or a UsageError naming the first that cannot be one."""
    roots = [normalised(p) for p in paths]
    for root in roots:
        if not root.exists():
            raise UsageError(f"no such file or folder: {display_path(str(root))}")
        if not (root.is_dir() or root.is_file()):  # /dev/null, a pipe, a socket
            raise UsageError(
                f"not a file or folder: {display_path(str(root))}",
                "index folders of documents, or single files",
            )
        if display_path(str(root)) != str(root):
            raise UsageError(
                f"cannot add {display_path(str(root))} as a folder to index: its name is"
                " not valid UTF-8",
                "index the folder that holds it; files inside may have any name",
            )
    return roots


def known_roots(store: Store) -> list[tuple[int, Path]]:
    return [(rid, Path(path)) for rid, path, _ in store.roots()]


def register_roots(store: Store, roots: Sequence[Path]) -> list[tuple[int, Path]]:
    """Add roots; a root inside a known one is covered by it, one around them absorbs them."""
    chosen: list[tuple[int, Path]] = []
    with store.transaction():
        for root in roots:
            known = known_roots(store)
            parent = next((k for k in known if within(root, k[1])), None)
            if parent:
                chosen.append(parent)
                continue
            root_id = store.add_root(str(root))
            for old_id, old_path in known:
                if within(old_path, root):
                    store.merge_root(old_id, into_id=root_id)
                    chosen = [c for c in chosen if c[0] != old_id]
            chosen.append((root_id, root))
    return list(dict.fromkeys(chosen))
