"""A server's listening socket and lock, passed across exec() to the new version of itself.

`serve --watch` carries on with new code by running its command again in the same process
(upgrade.py). Were it to close its socket and free its lock first, every search in the seconds
the new code takes to load the model would find no server and load the model itself, and a
search could start a second server meanwhile. So the socket stays bound and listening (a
search sent in the switch waits in its queue, and the new code answers it) and the lock stays
held: both are open files that exec() keeps, named to the new code in an environment variable
with the pid that set it, which only this process keeps across an exec.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from localsearch.server.protocol import SOCKET_NAME, lock_path

HANDOVER_VARIABLE = "LOCALSEARCH_SERVER_HANDOVER"


@dataclass
class HandedOver:
    listener: socket.socket
    lock: int  # the file descriptor of the server lock, flocked


def hand_over(listener: socket.socket, lock: int) -> None:
    """Keep `listener` and `lock` open across the exec that follows, and say where they are.
    The socket object lets go of its file, which would be closed as the object is freed."""
    listener_fd = listener.detach()
    os.set_inheritable(listener_fd, True)
    os.set_inheritable(lock, True)
    os.environ[HANDOVER_VARIABLE] = f"{os.getpid()}:{listener_fd}:{lock}"


def take_over(home: Path) -> HandedOver | None:
    """What the server before the exec into this process handed over for `home`, or None
    (none, or the variable came to another process, or names files that are not those)."""
    value = os.environ.pop(HANDOVER_VARIABLE, None)
    if value is None:
        return None
    try:
        pid, listener_fd, lock_fd = (int(part) for part in value.split(":"))
    except ValueError:
        return None
    if pid != os.getpid():
        return None  # a child that inherited the variable, not the server's exec
    try:
        held, expected = os.fstat(lock_fd), os.stat(lock_path(home))
        if (held.st_dev, held.st_ino) != (expected.st_dev, expected.st_ino):
            return None
        listener = socket.socket(fileno=listener_fd)
    except OSError:
        return None
    try:
        name = listener.getsockname()
        ours = listener.family == socket.AF_UNIX and str(name).endswith(f"/{SOCKET_NAME}")
    except OSError:
        ours = False
    if not ours:
        listener.detach()  # not ours to close
        return None
    os.set_inheritable(listener_fd, False)
    os.set_inheritable(lock_fd, False)
    return HandedOver(listener, lock_fd)
