"""`localsearch serve`: one warm SearchEngine answering over a Unix socket in the data folder.

A separate process rather than a faster cold start because loading torch and the model costs
seconds however it is done, while a warm engine answers in milliseconds; the CLI asks it when it
runs and searches in-process when it does not. Requests are served one at a time (a search takes
milliseconds and the engine's connection is not thread-safe). Each request checks the index's
data version, so searches see what an index run or the watcher committed; a new active model is
loaded by the engine on the next query. The socket is 0600 and nothing listens on TCP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from localsearch import errors
from localsearch.config import Settings
from localsearch.lock import open_lock_file
from localsearch.search.engine import SearchEngine
from localsearch.server.handover import hand_over, take_over
from localsearch.server.live_engine import LiveEngine
from localsearch.server.protocol import (
    PROTOCOL_VERSION,
    SEARCH_SETTINGS,
    code_stamp,
    encode,
    lock_path,
    read_message,
    short_address,
    socket_path,
    starting_path,
)
from localsearch.upgrade import CodeChange
from localsearch.wording import plural

try:
    import fcntl
except ImportError:  # Windows has no Unix sockets to serve on anyway
    fcntl = None  # type: ignore[assignment]

ACCEPT_POLL_SECONDS = 0.5
CLIENT_TIMEOUT_SECONDS = 10.0


class ServerLock:
    """An flock on server.lock held for the server's life: never two servers per data folder."""

    def __init__(self, home: Path) -> None:
        self.path = lock_path(home)
        self._handle: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open_lock_file(self.path)
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(handle, 100, 0).decode(errors="replace").strip()
                os.close(handle)
                raise errors.ServerRunningError(
                    f"a localsearch server already runs for {self.path.parent}"
                    + (f" ({holder})" if holder else ""),
                    "stop it with `localsearch serve --stop`",
                ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()}".encode(), 0)
        self._handle = handle

    def adopt(self, handle: int) -> None:
        """The lock as the server before this exec held it: the same open file, so the same
        flock (handover.py)."""
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None

    def hand_over(self) -> int:
        """The open lock, for the exec that follows; release() then leaves it held."""
        assert self._handle is not None
        handle, self._handle = self._handle, None
        return handle


class SearchServer:
    def __init__(
        self,
        settings: Settings,
        *,
        idle_seconds: float,
        log: Callable[[str], None] = lambda line: None,
        engine_factory: Callable[[Settings], SearchEngine] = SearchEngine,
        watch: bool = False,
    ) -> None:
        self.settings = settings
        self.watch = watch
        self.idle_seconds = idle_seconds
        self.code = code_stamp()  # of the code this process loaded, before any later edit
        self.log = log
        self.engine_factory = engine_factory
        self.stopping = threading.Event()
        # Set by the watcher once localsearch's files changed and settled: the server stops
        # serving and hands its socket and lock to the new code (run() returns True).
        self.upgraded = False
        self.follows_upgrades = False  # while its watcher watches for them
        self.served = 0
        self.started_at = time.time()
        self._lock = ServerLock(settings.home)
        self.engine = LiveEngine(settings, engine_factory)

    @property
    def socket_path(self) -> Path:
        return socket_path(self.settings.home)

    def run(self) -> bool:
        """Take the lock, warm the engine, then serve until idle, stopped or signalled. True
        when it stopped for new code, its socket and lock handed over for an exec of the
        command that started it (upgrade.run_again), which serves on with them."""
        handed = take_over(self.settings.home)
        if handed is None:
            self._lock.acquire()
        else:
            self._lock.adopt(handed.lock)
        listening = _Listener(self.socket_path, handed.listener if handed else None)
        stopped = handing_over = False
        try:
            self.engine.warm_up()
            # A watcher's first update embeds any backlog itself.
            watcher = self._start_watching() if self.watch else self._start_embedding_backlog()
            with listening as listener:
                starting_path(self.settings.home).unlink(missing_ok=True)
                self._install_signal_handlers()
                self.log(
                    f"Serving {self.settings.home} on {self.socket_path} (pid {os.getpid()});"
                    + (
                        f" idle timeout {self.idle_seconds:.0f}s."
                        if self.idle_seconds > 0
                        else " no idle timeout."
                    )
                )
                self._serve(listener)
            stopped = self.stopping.is_set()  # by Ctrl-C, a signal or `serve --stop`
            self.stop()
            if watcher is not None:
                watcher.join(30)
            if self.upgraded:
                hand_over(listening.sock, self._lock.hand_over())
                handing_over = True
                return True
        finally:
            self.engine.close()
            if not handing_over:
                listening.close()
                self._lock.release()
        if stopped:  # said once its socket and lock are gone: a search now starts a new one
            self.log(f"Stopped the server for {self.settings.home}.")
        return False

    def _start_embedding_backlog(self) -> threading.Thread | None:
        """Embed the chunks an interrupted `index` left without vectors (embed_backlog.py), in
        a thread with its own Index and connection while searches go on: BM25 finds those
        chunks until their vectors commit, batch by batch, and the engine picks each batch up.
        An index run that holds the writer lock embeds them itself."""
        engine = self.engine.current()
        if engine.dense_coverage().complete:  # also an index whose first run had no vectors yet
            return None
        from localsearch.index import Index, IndexReport
        from localsearch.progress import ProgressEvent

        def stop_when_asked(event: ProgressEvent) -> None:
            if self.stopping.is_set():
                raise _Stopped  # between batches: every committed batch stays

        def run() -> None:
            index = Index(self.settings)
            report = IndexReport()
            try:
                with index.writer_lock(purpose="embedding the backlog"):
                    model = index.model_for_first_vectors(report)
                    index.embed_pending(model, False, report, stop_when_asked)
                for notice in report.notices:
                    self.log(notice)
                self.log(
                    f"Embedded the backlog: {plural(report.chunks_embedded, 'chunk')}"
                    f" ({report.chunks_reused} reused)."
                )
            except _Stopped:
                pass
            except errors.IndexBusyError:
                self.log("An index run holds the index; it embeds the backlog.")
            except Exception as exc:  # noqa: BLE001 - searches go on without the vectors
                self.log(
                    f"Embedding the backlog stopped: {type(exc).__name__}: {exc}".splitlines()[0]
                )
            finally:
                index.close()

        thread = threading.Thread(target=run, name="embed-backlog", daemon=True)
        thread.start()
        return thread

    def _start_watching(self) -> threading.Thread:
        """Re-index changed files in a thread of its own (its own Index and connection)."""
        from localsearch.watch import WatchCallbacks, Watcher, WatchUpdate

        def on_update(update: WatchUpdate) -> None:
            report = update.report
            if report.wrote_anything():
                self.log(
                    f"Re-indexed in {report.seconds:.1f}s: {report.files_done()};"
                    f" {report.chunks_done()}."
                )
            for path, reason in update.newly_skipped:
                self.log(f"Skipped {path}: {reason}")

        upgrade = CodeChange()
        watcher = Watcher(
            self.settings,
            callbacks=WatchCallbacks(on_update=on_update, on_waiting=self.log),
            stop=self.stopping,
            until=upgrade,  # between updates: one under way runs to its end on this code
        )

        def run() -> None:
            self.follows_upgrades = True
            try:
                watcher.run()
            except Exception as exc:  # noqa: BLE001 - searches go on without the watcher
                self.log(f"Watching stopped: {type(exc).__name__}: {exc}".splitlines()[0])
            finally:
                self.follows_upgrades = False
            if upgrade.changed and not self.stopping.is_set():
                self.log(
                    "localsearch changed on disk (an upgrade or an edit): serving and watching"
                    " on with the new version."
                )
                self.upgraded = True
                self.stop()

        thread = threading.Thread(target=run, name="watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda *_: self.stop())

    def _serve(self, listener: socket.socket) -> None:
        last_request = time.monotonic()
        listener.settimeout(ACCEPT_POLL_SECONDS)
        listening_at = _inode(self.socket_path)
        while not self.stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if self.idle_seconds > 0 and time.monotonic() - last_request > self.idle_seconds:
                    self.log("Idle timeout: stopping.")
                    return
                if _inode(self.socket_path) != listening_at:
                    # Its socket (or the whole data folder) was deleted: no client can reach
                    # it or stop it, and it would keep the server lock from a new server.
                    self.log("The socket was removed: stopping.")
                    return
                continue
            except InterruptedError:
                continue
            with conn:
                self._answer(conn)
            last_request = time.monotonic()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(CLIENT_TIMEOUT_SECONDS)
        try:
            request = read_message(conn)
        except OSError:
            return  # the client went away; nothing to tell it
        if request is None:
            return
        say = self._notices_to(conn if request.get("notices") is True else None)
        reply = {
            "protocol": PROTOCOL_VERSION,
            "code": self.code,
            # A client from other code leaves it to start again from that code (upgrade.py)
            # rather than stop it, and a watch with it.
            "follows_upgrades": self.follows_upgrades,
            **self.reply_to(request, say),
        }
        try:
            conn.sendall(encode(reply))
        except OSError:
            # The client went away (Ctrl-C) before it had the results: no one saw them.
            search_id = reply.get("results", {}).get("search_id")
            if search_id is not None:
                self.engine.forget(search_id)

    def _notices_to(self, conn: socket.socket | None) -> Callable[[str], None]:
        """What the engine has to say before a wait: into the log, and to a client that asked,
        ahead of its reply (client.ask), so that it does not wait without a word."""

        def say(line: str) -> None:
            self.log(line)
            if conn is not None:
                with contextlib.suppress(OSError):  # the client went: the reply will fail too
                    conn.sendall(encode({"protocol": PROTOCOL_VERSION, "notice": line}))

        return say

    def reply_to(
        self, request: dict[str, Any], say: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        if request.get("protocol") != PROTOCOL_VERSION:
            return {"error": {"kind": "internal", "message": "protocol version mismatch"}}
        op = request.get("op")
        try:
            if op == "search":
                cpu = time.thread_time()
                reply: dict[str, Any] = {"results": self._search(request, say or self.log)}
                # CPU time of the search: on a busy machine, what it would take on an idle one.
                reply["cpu_ms"] = round((time.thread_time() - cpu) * 1000, 2)
                self.served += 1
                return reply
            if op == "status":
                return {"status": self.status()}
            if op == "stop":
                self.stop()
                return {"stopping": True}
            raise errors.UsageError(f"unknown request {op!r}")
        except errors.LocalSearchError as exc:
            return {"error": {"kind": type(exc).__name__, "message": exc.message, "hint": exc.hint}}
        except Exception as exc:  # noqa: BLE001 - the client falls back to an in-process search
            self.log(f"Error: internal error ({type(exc).__name__}: {exc})".splitlines()[0])
            return {"error": {"kind": "internal", "message": str(exc)}}

    def status(self) -> dict[str, Any]:
        space = self.engine.current().store.active_space()
        return {
            "pid": os.getpid(),
            "home": str(self.settings.home),
            "socket": str(self.socket_path),
            "model": space.model if space else None,
            "served": self.served,
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "idle_timeout_seconds": self.idle_seconds,
        }

    def _search(self, request: dict[str, Any], say: Callable[[str], None]) -> dict[str, Any]:
        try:
            engine = self.engine.current()
        except errors.NoIndexError:
            self.stop()  # the index is gone: nothing left to serve
            raise
        engine.settings = _with_search_settings(self.settings, request.get("settings") or {})
        engine.notify = say
        doc_types = request.get("doc_types") or []
        if not isinstance(doc_types, list):
            raise errors.UsageError("doc_types must be a list")
        results = engine.search(
            str(request.get("query", "")),
            k=_integer(request.get("k", 10), "k"),
            mode=str(request.get("mode", "hybrid")),
            path_glob=request.get("path_glob") or None,
            doc_types=[str(t) for t in doc_types],
            fusion=request.get("fusion") or None,
            per_doc=_integer(request.get("per_doc", 1), "per_doc"),
            since=str(request["since"]) if request.get("since") is not None else None,
        )
        source = request.get("history")
        search_id = None
        if source in ("cli", "tui"):  # the client logs through us: it holds no database
            search_id = self.engine.record(results, source)
        return {**results.to_dict(bool(request.get("explain"))), "search_id": search_id}


class _Stopped(Exception):
    """The server is stopping: the backlog is left for the next run."""


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.UsageError(f"{name} must be an integer")
    return value


def _with_search_settings(base: Settings, sent: Any) -> Settings:
    if not isinstance(sent, dict):
        raise errors.UsageError("settings must be an object")
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(base)}
    chosen: dict[str, Any] = {}
    for name in SEARCH_SETTINGS:
        if name in sent:
            try:
                chosen[name] = kinds[name](sent[name])
            except (TypeError, ValueError):
                raise errors.UsageError(f"invalid value for setting {name!r}") from None
    return replace(base, **chosen)


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


class _Listener:
    """The bound socket, 0600 from the start, or the one the server before this exec bound
    (handover.py); close() removes it."""

    def __init__(self, path: Path, bound: socket.socket | None = None) -> None:
        self.path = path
        self.bound = bound is not None
        self.sock = bound or socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def __enter__(self) -> socket.socket:
        if self.bound:
            return self.sock  # listening all along: searches sent meanwhile are queued
        # We hold the server lock, so a socket file left here is a dead server's.
        self.path.unlink(missing_ok=True)
        old_umask = os.umask(0o177)
        try:
            with short_address(self.path) as address:
                self.sock.bind(address)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        self.sock.listen(16)
        self.bound = True
        return self.sock

    def __exit__(self, *exc: object) -> None:
        pass  # closed by close(), unless handed over

    def close(self) -> None:
        self.sock.close()
        if self.bound:
            self.path.unlink(missing_ok=True)
