"""The CLI's side of the resident server: ask it, or say that it could not be asked.

Every failure (no socket, a refused or dropped connection, a server killed mid-answer, a reply
from another protocol version) returns None, and the caller searches in-process instead. A
server that is suspended (Ctrl-Z on a `serve` in a terminal) is found before asking: its socket
still accepts, and a search would wait the whole reply timeout for it. Standard library only, so
that asking costs milliseconds.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localsearch import errors
from localsearch.server.protocol import (
    LOG_NAME,
    PROTOCOL_VERSION,
    MessageReader,
    code_stamp,
    encode,
    lock_path,
    short_address,
    socket_path,
    starting_path,
)

# Long enough for the server to reload vectors after an index run, short enough that a stuck
# server costs a user a few seconds before the in-process search answers.
REPLY_TIMEOUT_SECONDS = 15.0
STARTING_SECONDS = 60.0  # a started server not listening by then is not coming
STARTING_POLL_SECONDS = 0.1


def ask(
    home: Path,
    request: dict[str, Any],
    timeout: float | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """The server's reply to `request`, or None when no server answered.

    An error the engine raised in the server (a bad -k, say) is raised here as the same
    LocalSearchError subclass, so the user sees what an in-process search would have said.
    `on_notice` hears what the server says before a long wait (BM25 rebuilt for a new version).
    """
    path = socket_path(home)
    if not path.exists():
        return None
    if on_notice is not None:
        request = {**request, "notices": True}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(REPLY_TIMEOUT_SECONDS if timeout is None else timeout)
            with short_address(path) as address:
                conn.connect(address)
            conn.sendall(encode({"protocol": PROTOCOL_VERSION, **request}))
            messages = MessageReader(conn)
            reply = messages.next()
            while on_notice is not None and reply is not None and "notice" in reply:
                on_notice(str(reply["notice"]))
                # It said why it takes long (a rebuild of a million chunks: a minute or more),
                # which a search in-process would wait for as well; a Ctrl-C ends the wait.
                conn.settimeout(None)
                reply = messages.next()
    except OSError:
        return None
    if reply is None or reply.get("protocol") != PROTOCOL_VERSION:
        return None
    if request.get("op") == "search" and reply.get("code") != code_stamp():
        # A server left running by other code (before an upgrade): its answers may be wrong.
        # Search in-process. One that follows upgrades (`serve --watch`) starts again from the
        # new code once its files have settled (upgrade.py); any other is stopped, so that the
        # next search starts one from this code.
        if not reply.get("follows_upgrades"):
            ask(home, {"op": "stop"}, timeout)
        return None
    error = reply.get("error")
    if isinstance(error, dict):
        if error.get("kind") == "internal":
            return None
        kind = getattr(errors, str(error.get("kind")), errors.LocalSearchError)
        if not (isinstance(kind, type) and issubclass(kind, errors.LocalSearchError)):
            kind = errors.LocalSearchError
        raise kind(str(error.get("message")), error.get("hint") or None)
    return reply


def start_in_background(home: Path) -> None:
    """Start `localsearch serve` for `home`, detached; it exits by itself when idle.

    Its stderr goes to server.log in the data folder. A second start while one runs is harmless:
    the newcomer finds the lock taken and exits.
    """
    import subprocess

    if server_lock_held(home):
        return  # one is starting (loading the model) or running
    home.mkdir(parents=True, exist_ok=True)
    if not os.access(home, os.W_OK):
        return  # a read-only data folder has no room for a server's socket: search in-process
    log_fd = os.open(home / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    starting_path(home).touch()  # before the start: the server removes it once it listens
    try:
        subprocess.Popen(
            [sys.executable, "-m", "localsearch", "serve", "--home", str(home), "--quiet"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_fd,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        starting_path(home).unlink(missing_ok=True)
        raise
    finally:
        os.close(log_fd)


def ask_once_started(home: Path, request: dict[str, Any]) -> dict[str, Any] | None:
    """Like ask(), but a server that a search started moments ago and that does not listen yet
    (it loads the model first) is waited for, up to STARTING_SECONDS after its start."""
    while True:
        reply = ask(home, request)
        try:
            started = starting_path(home).stat().st_mtime
        except OSError:
            return reply if reply is not None else ask(home, request)  # it may listen now
        if reply is not None or time.time() - started > STARTING_SECONDS:
            return reply
        time.sleep(STARTING_POLL_SECONDS)


def server_lock_held(home: Path) -> bool:
    """Whether a server process holds this data folder's server lock right now."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        handle = os.open(lock_path(home), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False


def server_pid(home: Path) -> int | None:
    """The pid of the server holding this data folder's lock, or None when none holds it."""
    if not server_lock_held(home):
        return None
    try:
        word, _, number = lock_path(home).read_text(errors="replace").partition(" ")
    except OSError:
        return None
    return int(number) if word == "pid" and number.isdigit() else None


def suspended_server(home: Path) -> int | None:
    """The pid of this data folder's server if it is stopped by a signal or a debugger, else
    None. Linux only (it reads /proc); elsewhere a suspended server costs the reply timeout."""
    pid = server_pid(home)
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    state = stat[stat.rfind(b")") + 2 :][:1]  # the name in parentheses may hold anything
    return pid if state in (b"T", b"t") else None
