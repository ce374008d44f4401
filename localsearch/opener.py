"""Open a search hit: in the user's editor at the chunk's line, or with the platform's opener
for documents an editor cannot show (PDF, Word) and for folders.

A separate module because it is the one place that starts other programs, and the one piece the
tests replace; the TUI and `localsearch search --open` share it, so it knows no UI: a face that
owns the terminal passes a `suspend` that steps aside while a terminal editor runs.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
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
# Editors with their own window: started in the background, the caller carries on.
GUI_EDITORS = GOTO_EDITORS | frozenset(
    {"subl", "sublime_text", "zed", "mate", "atom", "gedit", "kate", "mvim"}
)


class OpenFailed(LocalSearchError):
    """A hit could not be opened: the file is gone or unreadable, or no program can show it."""


class Opener(Protocol):
    """What the app needs to open things; the tests pass a recording fake."""

    def open_file(self, path: Path, line: int | None = None, page: int | None = None) -> None: ...

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


# PDF viewers that can open at a page, tried in this order before the desktop's default opener
# (which cannot): the arguments for `path` at `page`.
PDF_VIEWERS: tuple[tuple[str, Callable[[str, int], list[str]]], ...] = (
    ("zathura", lambda path, page: [f"--page={page}", path]),
    ("evince", lambda path, page: [f"--page-index={page}", path]),
    ("okular", lambda path, page: ["-p", str(page), path]),
    ("qpdfview", lambda path, page: [f"{path}#{page}"]),
    ("mupdf", lambda path, page: [path, str(page)]),
)


def pdf_viewer_command(path: Path, page: int) -> LaunchPlan | None:
    """A PDF viewer that opens `path` at `page`, if one is installed and there is a desktop."""
    if sys.platform in ("darwin", "win32") or not has_desktop():
        return None
    for name, arguments in PDF_VIEWERS:
        program = shutil.which(name)
        if program:
            return LaunchPlan([program, *arguments(str(path), page)], in_terminal=False)
    return None


def has_desktop() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def configured_editor() -> str | None:
    return os.environ.get("EDITOR") or os.environ.get("VISUAL") or None


def plan_open_file(path: Path, line: int | None, page: int | None = None) -> LaunchPlan | None:
    """How to open a hit at its line or page; None means "use os.startfile" (Windows)."""
    editor = configured_editor()
    if path.suffix.lower() in PLATFORM_SUFFIXES:
        plan = None
        if page is not None and path.suffix.lower() == ".pdf":
            plan = pdf_viewer_command(path, page)
        plan = plan or platform_command(path)
        if plan is None and sys.platform != "win32":
            raise OpenFailed(
                f"no program to open {path}",
                "install xdg-utils"
                + (" or a PDF viewer" if path.suffix.lower() == ".pdf" else "")
                + ", or open it yourself",
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


def check_root_present(path: Path, roots: Iterable[str | Path], remove: str) -> None:
    """Raise OpenFailed when `path` is gone with the whole folder it was indexed under: indexing
    keeps such a folder's documents (a disk not mounted), so "re-index" would not help.
    `remove` says how to drop the folder from the index ({root} is filled in)."""
    for root in map(Path, roots):
        if not root.exists() and path.is_relative_to(root):
            raise OpenFailed(
                f"{path} no longer exists: the indexed folder {root} is gone",
                f"put it back (a disk not mounted?), or {remove.format(root=root)}",
            )


def check_readable(path: Path) -> None:
    if not path.exists():
        raise OpenFailed(f"{path} no longer exists", "re-index to bring the index up to date")
    if not os.access(path, os.R_OK):
        raise OpenFailed(f"cannot read {path}: permission denied")


class SystemOpener:
    """Opens files with $EDITOR or the platform opener.

    `suspend` is the TUI's `suspend()`: a terminal editor needs the whole terminal, so the TUI
    steps aside while it runs and redraws when it exits; the CLI has nothing to suspend. A
    program started in the background (xdg-open, a viewer) is waited for on a thread, so it
    never lingers as a zombie, and `on_failure` hears about it when it exits with an error
    after `open_file` has returned.
    """

    def __init__(
        self,
        suspend: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
        on_failure: Callable[[OpenFailed], None] | None = None,
    ) -> None:
        self._suspend = suspend
        self._on_failure = on_failure

    def open_file(self, path: Path, line: int | None = None, page: int | None = None) -> None:
        check_readable(path)
        self._launch(plan_open_file(path, line, page), path)

    def open_folder(self, path: Path) -> None:
        if not path.is_dir():
            raise OpenFailed(f"{path} no longer exists")
        self._launch(plan_open_folder(path), path)

    def _launch(self, plan: LaunchPlan | None, path: Path) -> None:
        if plan is not None and shutil.which(plan.argv[0]) is None:
            # Before suspending: a missing editor is a notification, not a blank terminal.
            raise OpenFailed(
                f"cannot start {plan.argv[0]} to open {path}: not found", "check EDITOR"
            )
        try:
            if plan is None:
                os.startfile(path)  # type: ignore[attr-defined]  # Windows only
            elif plan.in_terminal:
                with self._suspend():
                    if plan.banner:
                        print(plan.banner, flush=True)
                    completed = subprocess.run(plan.argv, check=False, cwd=plan.cwd)
                if completed.returncode not in (0, None):
                    raise OpenFailed(
                        f"{plan.argv[0]} exited with status {completed.returncode} opening {path}"
                    )
            else:
                process = subprocess.Popen(
                    plan.argv,
                    cwd=plan.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                threading.Thread(
                    target=self._wait_for, args=(process, path), name="opener", daemon=True
                ).start()
        except FileNotFoundError:
            raise OpenFailed(
                f"cannot start {plan.argv[0] if plan else 'the opener'} to open {path}: not found",
                "check EDITOR",
            ) from None
        except OSError as exc:
            raise OpenFailed(f"cannot open {path}: {exc.strerror or exc}") from None

    def _wait_for(self, process: subprocess.Popen[bytes], path: Path) -> None:
        status = process.wait()  # reaps it: no zombie left behind
        if status != 0 and self._on_failure is not None:
            program = Path(str(process.args[0] if isinstance(process.args, list) else "")).name
            self._on_failure(
                OpenFailed(
                    f"{program} could not open {path} (exit status {status})",
                    "no program is set up to show this kind of file; open it yourself,"
                    " or install one (for PDFs, e.g. zathura or evince)",
                )
            )
