"""Open a search hit outside the TUI: in the user's editor at the chunk's line, or with the
platform's opener for documents an editor cannot show (PDF, Word) and for folders.

A separate module because it is the one place that starts other programs, and the one piece the
tests replace: the app only ever calls `Opener.open_file` and `Opener.open_folder`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from localsearch.errors import LocalSearchError

# Documents that need their own application; everything else is text an editor can show.
PLATFORM_SUFFIXES = frozenset(
    {".pdf", ".docx", ".docm", ".dotx", ".pptx", ".epub", ".xlsx", ".odt", ".doc", ".rtf"}
)
# Editors that take `+LINE path`.
PLUS_LINE_EDITORS = frozenset(
    {
        "vi",
        "vim",
        "nvim",
        "gvim",
        "mvim",
        "view",
        "nano",
        "pico",
        "emacs",
        "emacsclient",
        "micro",
        "kak",
        "joe",
        "jed",
        "mg",
        "ne",
        "gedit",
        "kate",
        "mcedit",
        "vis",
        "ed",
    }
)
# Editors that take `--goto path:line`.
GOTO_EDITORS = frozenset({"code", "code-insiders", "codium", "vscodium", "cursor", "windsurf"})
# Editors that take `path:line`.
COLON_LINE_EDITORS = frozenset({"subl", "sublime_text", "hx", "helix", "zed", "mate", "atom"})
# Editors with their own window: started in the background, the TUI keeps running.
GUI_EDITORS = GOTO_EDITORS | frozenset(
    {"subl", "sublime_text", "zed", "mate", "atom", "gedit", "kate", "mvim"}
)


class OpenFailed(LocalSearchError):
    """A hit could not be opened: the file is gone or unreadable, or no program can show it."""


class Opener(Protocol):
    """What the app needs to open things; the tests pass a recording fake."""

    def open_file(self, path: Path, line: int | None = None) -> None: ...

    def open_folder(self, path: Path) -> None: ...


@dataclass(frozen=True)
class LaunchPlan:
    """A command line and whether it takes over the terminal (so the TUI must step aside)."""

    argv: list[str]
    in_terminal: bool
    cwd: Path | None = None
    banner: str = ""  # printed before a terminal program starts


def editor_command(editor: str, path: Path, line: int | None) -> LaunchPlan:
    """The command that opens `path` at `line` in `editor` (a $EDITOR value, maybe with flags)."""
    words = shlex.split(editor)
    if not words:
        raise OpenFailed("$EDITOR is empty", "set EDITOR, e.g. `export EDITOR=nano`")
    name = Path(words[0]).name.lower().removesuffix(".exe")
    target = str(path)
    if line is None or line < 1:
        argv = [*words, target]
    elif name in PLUS_LINE_EDITORS:
        argv = [*words, f"+{line}", target]
    elif name in GOTO_EDITORS:
        argv = [*words, "--goto", f"{target}:{line}"]
    elif name in COLON_LINE_EDITORS:
        argv = [*words, f"{target}:{line}"]
    else:
        argv = [*words, target]
    return LaunchPlan(argv, in_terminal=name not in GUI_EDITORS)


def platform_command(path: Path) -> LaunchPlan | None:
    """The desktop's "open with the default application" for `path`; None on Windows
    (os.startfile) or where there is none."""
    if sys.platform == "darwin":
        return LaunchPlan(["open", str(path)], in_terminal=False)
    if sys.platform == "win32":
        return None
    opener = shutil.which("xdg-open")
    if opener is None:
        return None
    return LaunchPlan([opener, str(path)], in_terminal=False)


def has_desktop() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def configured_editor() -> str | None:
    return os.environ.get("EDITOR") or os.environ.get("VISUAL") or None


def plan_open_file(path: Path, line: int | None) -> LaunchPlan | None:
    """How to open a hit; None means "use os.startfile" (Windows)."""
    editor = configured_editor()
    if path.suffix.lower() in PLATFORM_SUFFIXES:
        plan = platform_command(path)
        if plan is None and sys.platform != "win32":
            raise OpenFailed(
                f"no program to open {path.name}", "install xdg-utils, or open the file yourself"
            )
        return plan
    if editor:
        return editor_command(editor, path, line)
    if has_desktop():
        plan = platform_command(path)
        if plan is not None or sys.platform == "win32":
            return plan
    for fallback in ("nano", "vi"):
        if shutil.which(fallback):
            return editor_command(fallback, path, line)
    raise OpenFailed("no editor found to open the file", "set EDITOR, e.g. `export EDITOR=nano`")


def plan_open_folder(path: Path) -> LaunchPlan | None:
    """The file manager on a desktop; in a bare terminal (ssh, say), a shell in the folder."""
    plan = platform_command(path) if has_desktop() else None
    if plan is not None or sys.platform == "win32":
        return plan
    shell = os.environ.get("SHELL")
    if not shell:
        raise OpenFailed("no program to open folders", "install xdg-utils, or set SHELL")
    return LaunchPlan(
        [shell],
        in_terminal=True,
        cwd=path,
        banner=f"localsearch: a shell in {path}. Type `exit` to come back.",
    )


def check_readable(path: Path) -> None:
    if not path.exists():
        raise OpenFailed(f"{path} no longer exists", "re-index to bring the index up to date")
    if not os.access(path, os.R_OK):
        raise OpenFailed(f"cannot read {path}: permission denied")


class SystemOpener:
    """Opens files with $EDITOR or the platform opener.

    `suspend` is the app's `suspend()`: a terminal editor needs the whole terminal, so the TUI
    steps aside while it runs and redraws when it exits.
    """

    def __init__(self, suspend: Callable[[], AbstractContextManager[None]]) -> None:
        self._suspend = suspend

    def open_file(self, path: Path, line: int | None = None) -> None:
        check_readable(path)
        self._launch(plan_open_file(path, line), path)

    def open_folder(self, path: Path) -> None:
        if not path.is_dir():
            raise OpenFailed(f"{path} no longer exists")
        self._launch(plan_open_folder(path), path)

    def _launch(self, plan: LaunchPlan | None, path: Path) -> None:
        try:
            if plan is None:
                os.startfile(path)  # type: ignore[attr-defined]  # Windows only
            elif plan.in_terminal:
                with self._suspend():
                    if plan.banner:
                        print(plan.banner, flush=True)
                    completed = subprocess.run(plan.argv, check=False, cwd=plan.cwd)
                if completed.returncode not in (0, None):
                    raise OpenFailed(f"{plan.argv[0]} exited with status {completed.returncode}")
            else:
                subprocess.Popen(
                    plan.argv,
                    cwd=plan.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
        except FileNotFoundError:
            raise OpenFailed(
                f"cannot start {plan.argv[0] if plan else 'the opener'}: not found",
                "check EDITOR",
            ) from None
        except OSError as exc:
            raise OpenFailed(f"cannot open {path}: {exc.strerror or exc}") from None
