"""`localsearch watch`: keep the index in step with the files until Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import click

from localsearch.cli import GivenPath, home_option, quiet_option, settings_from
from localsearch.wording import plural


@click.command()
@click.argument("paths", nargs=-1, type=GivenPath("folder", "a folder to watch"))
@home_option
@quiet_option
@click.pass_context
def watch(ctx: click.Context, paths: tuple[Path, ...], home: Path | None, quiet: bool) -> None:
    """Index folders, then re-index files as they are created, changed, moved or deleted.

    With no PATH, watches every indexed folder and file, and those indexed later. Stop with
    Ctrl-C. Waits while another `localsearch index` runs. `localsearch serve --watch` does the
    same inside the server.
    """
    from localsearch.cli.output import RichProgress, stderr
    from localsearch.progress import ProgressEvent
    from localsearch.terminal_text import one_line
    from localsearch.watch import WatchCallbacks, Watcher, WatchUpdate

    # Bars for the first update, which may read a whole new folder or embed a backlog for
    # minutes; the later ones, a few files each, say what they did when done.
    first_update = contextlib.ExitStack()
    bars = first_update.enter_context(RichProgress(enabled=not quiet))

    def progress(event: ProgressEvent) -> None:
        if watcher.updates == 0:
            bars(event)

    def on_update(update: WatchUpdate) -> None:
        first_update.close()
        report = update.report
        if not update.changed or report.added or report.updated or report.removed:
            skipped = (
                f"; {plural(len(report.skipped), 'file')} skipped (`localsearch status"
                " --skipped` says why)"
                if report.skipped and not update.changed
                else ""
            )
            embedded = (
                f", {plural(report.chunks_embedded, 'chunk')} embedded"
                if report.chunks_embedded and not update.changed
                else ""
            )
            stderr.print(
                f"{'Updated' if update.changed else 'Indexed'} in {report.seconds:.1f}s:"
                f" {report.added} added, {report.updated} updated, {report.removed} removed"
                f"{embedded}{skipped}.",
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
        progress=progress,
        on_ready=on_ready,
    )
    if quiet:
        callbacks = WatchCallbacks(on_waiting=callbacks.on_waiting)
    watcher = Watcher(settings_from(ctx, home), list(paths), callbacks)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill`, a service manager: as Ctrl-C
    try:
        with first_update:  # the bars end before any error is said
            watcher.run()
    except KeyboardInterrupt:
        if watcher.busy or not watcher.ready.is_set():
            raise  # mid-update: the usual word on what was kept
        stderr.print("Stopped watching.", markup=False)  # how watch is meant to end


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
