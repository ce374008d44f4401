"""`localsearch watch`: keep the index in step with the files until Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import click

from localsearch.cli import GivenPath, home_option, quiet_option, settings_from
from localsearch.cli.output import RichProgress
from localsearch.progress import ProgressEvent
from localsearch.wording import plural

LATER_BARS_AFTER_SECONDS = 1.0  # a save of a file or two is done well before


@click.command()
@click.argument("paths", nargs=-1, type=GivenPath("folder", "a folder to watch"))
@home_option
@quiet_option
@click.pass_context
def watch(ctx: click.Context, paths: tuple[Path, ...], home: Path | None, quiet: bool) -> None:
    """Index folders, then re-index files as they are created, changed, moved or deleted.

    With no PATH, watches every indexed folder and file, and those indexed later. Stop with
    Ctrl-C. Waits while another `localsearch index` runs. When localsearch itself is upgraded,
    carries on with the new version. `localsearch serve --watch` does the same inside the
    server.
    """
    from localsearch.cli.output import stderr
    from localsearch.terminal_text import one_line
    from localsearch.upgrade import CodeChange, run_again
    from localsearch.watch import WatchCallbacks, Watcher, WatchUpdate

    bars = UpdateBars()

    def on_update(update: WatchUpdate) -> None:
        bars.end()
        report = update.report
        if not update.changed or report.wrote_anything():
            skipped = (
                f"; {plural(len(report.skipped), 'file')} skipped (`localsearch status"
                " --skipped` says why)"
                if report.skipped and not update.changed
                else ""
            )
            stderr.print(
                f"{'Updated' if update.changed else 'Indexed'} in {report.seconds:.1f}s:"
                f" {report.files_done()}; {report.chunks_done()}{skipped}.",
                markup=False,
            )
        for path, reason in update.newly_skipped:
            stderr.print(f"skipped {one_line(path)}: {one_line(reason)}", markup=False)
        for notice in report.notices:
            stderr.print(notice, markup=False)

    def on_ready(roots: list[Path]) -> None:
        # Also after a watched folder is deleted: what is watched now, and what is gone.
        present = [r for r in roots if r.exists()]
        if present or not roots:
            stderr.print(
                "Watching "
                + (", ".join(one_line(str(r)) for r in present) or "for folders to be indexed")
                + " (Ctrl-C stops).",
                markup=False,
            )
        for gone in (r for r in roots if not r.exists()):
            stderr.print(
                f"Warning: {one_line(str(gone))} is missing; its documents are kept, and it is"
                " watched again once it is back.",
                markup=False,
            )

    callbacks = WatchCallbacks(
        on_update=on_update,
        on_waiting=lambda why: stderr.print(f"Waiting: {why}.", markup=False),
        progress=bars,
        on_ready=on_ready,
    )
    if quiet:
        callbacks = WatchCallbacks(on_waiting=callbacks.on_waiting)
    upgraded = CodeChange()
    watcher = Watcher(settings_from(ctx, home), list(paths), callbacks, until=upgraded)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill`, a service manager: as Ctrl-C
    try:
        with bars:  # they end before any error is said
            watcher.run()
    except KeyboardInterrupt:
        if watcher.busy or not watcher.ready.is_set():
            raise  # mid-update: the usual word on what was kept
        stderr.print("Stopped watching.", markup=False)  # how watch is meant to end
        return
    if upgraded.changed:
        stderr.print(
            "localsearch changed on disk (an upgrade or an edit): watching on with the new"
            " version.",
            markup=False,
        )
        run_again()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class UpdateBars:
    """index's progress bars, one set for each update that takes more than a moment.

    The first update, which may read a whole new folder or embed a backlog for minutes, draws
    them from its start. A later one draws them once it has run LATER_BARS_AFTER_SECONDS (200
    files copied in), showing where each stage has got; a save of a file or two, done by then,
    only says what it did."""

    def __init__(self) -> None:
        self.bars: RichProgress | None = None
        self.first = True
        self.started: float | None = None  # when this update's first event came
        self.latest: dict[str, ProgressEvent] = {}  # by stage, until the bars are drawn
        self.lock = threading.Lock()  # events come from the embedding thread too

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            if self.bars is not None:
                self.bars(event)
                return
            now = time.monotonic()
            self.started = now if self.started is None else self.started
            self.latest[event.stage] = event
            if self.first or now - self.started >= LATER_BARS_AFTER_SECONDS:
                self.bars = RichProgress().__enter__()
                for seen in self.latest.values():
                    self.bars(seen)

    def end(self) -> None:
        """The update is done: its bars, if drawn, end before its line is printed."""
        with self.lock:
            if self.bars is not None:
                self.bars.__exit__(None, None, None)
            self.bars, self.started, self.first = None, None, False
            self.latest.clear()

    def __enter__(self) -> UpdateBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()
