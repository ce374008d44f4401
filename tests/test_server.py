"""The resident server: the real `serve` process answering the real CLI, its lock, its socket,
the fallback when it dies mid-query, and its stop and idle paths."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from helpers import index_files, run_cli

from localsearch.config import load_settings
from localsearch.errors import UsageError
from localsearch.history import SearchHistory
from localsearch.server.client import ask, server_lock_held
from localsearch.server.protocol import socket_path, starting_path
from localsearch.store import Store

DOCS = {
    "tides.md": "# Tidal power\n\nTidal turbines turn the rise and fall of the sea into"
    " electricity.\n",
    "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised by wild"
    " yeast. Feed it daily; bake when it doubles.\n",
    "notes.txt": "Beekeeping notes: a hive needs a queen, workers and drones.\n",
}
DEADLINE_SECONDS = 300  # the model loads in seconds on an idle machine, much longer on a busy one


def cli(home: Path, *args: str, autostart: bool = False) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
    env["LOCALSEARCH_SERVER_AUTOSTART"] = "1" if autostart else "0"
    # A cold search encodes in fp32 numpy (embed/numpy_bert.py) and the server in bf16 where
    # the CPU has it, scores then differing in the 4th decimal: one precision makes the printed
    # results comparable character for character.
    env["LOCALSEARCH_PRECISION"] = "fp32"
    return subprocess.Popen(
        [sys.executable, "-m", "localsearch", *args, "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=DEADLINE_SECONDS)
    return process.returncode, out, err


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def server_status(home: Path) -> dict | None:
    reply = ask(home, {"op": "status"})
    return None if reply is None else reply["status"]


def awaiting_a_reply(pid: int) -> bool:
    """Connected over a Unix socket and asleep in poll or recv: the request is sent."""
    try:
        connected = bool(psutil.Process(pid).net_connections(kind="unix"))
        asleep = Path(f"/proc/{pid}/wchan").read_text()
    except (OSError, psutil.Error):
        return False
    return connected and ("poll" in asleep or "unix_stream" in asleep)


@contextmanager
def busy(home: Path) -> Iterator[None]:
    """A client that trickles a request a byte at a time: the server, which serves one request
    at a time, reads it until the client goes."""
    stop, connected = threading.Event(), threading.Event()

    def trickle() -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(socket_path(home)))
            conn.sendall(b'{"protocol": 1, "op": "status", "pad": "')
            connected.set()
            with contextlib.suppress(OSError):  # the server is killed under it
                while not stop.wait(0.5):
                    conn.sendall(b"x")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    # First in the server's queue, before whatever the test sends next (it failed under load).
    assert connected.wait(DEADLINE_SECONDS)
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


@pytest.mark.slow
def test_server_answers_the_cli_is_alone_and_a_kill_9_mid_query_falls_back(tmp_path) -> None:
    docs, home = index_files(tmp_path, DOCS)
    query = ("search", "wild yeast starter", "-k", "2")

    # The first search answers in-process and starts the server for the next one.
    code, cold, err = finish(cli(home, *query, autostart=True))
    assert (code, err) == (0, "")
    assert cold.splitlines()[0].startswith("1. Sourdough bread  ")
    wait_for(lambda: server_status(home) is not None, "the auto-started server")
    status = server_status(home)
    assert status is not None and status["served"] == 0
    pid = status["pid"]
    try:
        assert finish(cli(home, *query)) == (0, cold, "")
        assert server_status(home)["served"] == 1  # type: ignore[index]
        code, out, _ = finish(cli(home, *query, "--json", "--explain"))
        hits = json.loads(out)["results"]
        assert len(hits) == 2 and Path(hits[0]["path"]).name == "bread.md"
        assert hits[0]["explain"]["bm25_rank"] == 1

        # Only the owner may talk to it, and nothing listens on a network port.
        assert stat.S_IMODE(socket_path(home).stat().st_mode) == 0o600
        assert psutil.Process(pid).net_connections(kind="inet") == []

        assert finish(cli(home, "serve")) == (
            1,
            "",
            f"Error: a localsearch server already runs for {home} (pid {pid})"
            " — stop it with `localsearch serve --stop`\n",
        )

        # Keep the server busy reading a request that never ends, let a search send its
        # request behind it, then kill the server under it.
        with busy(home):
            waiting = cli(home, *query)
            wait_for(lambda: awaiting_a_reply(waiting.pid), "the search to await the server")
            os.kill(pid, signal.SIGKILL)
            assert finish(waiting) == (0, cold, "")
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_suspended_server_is_searched_around_reported_and_stopped(tmp_path) -> None:
    # Ctrl-Z on a `serve` in a terminal: every search waited 15 s for it, --status waited and
    # then said no server was running, and --stop said so too and left it holding the lock.
    _, home = index_files(tmp_path, DOCS)
    server = cli(home, "serve")
    try:
        wait_for(lambda: server_status(home) is not None, "the server")
        os.kill(server.pid, signal.SIGSTOP)
        resume = f"`kill -CONT {server.pid}`"
        code, out, err = finish(cli(home, "search", "wild yeast starter", "-k", "1"))
        assert code == 0 and out.startswith("1. Sourdough bread  ")
        assert err == (
            f"Note: the server for {home} (pid {server.pid}) is suspended (Ctrl-Z or SIGSTOP),"
            f" so this searched without it; resume it with {resume} or end it with"
            " `localsearch serve --stop`.\n"
        )
        assert finish(cli(home, "serve", "--status")) == (
            1,
            "",
            f"The server for {home} (pid {server.pid}) is suspended (Ctrl-Z or SIGSTOP): resume"
            f" it with {resume} or end it with `localsearch serve --stop`.\n",
        )
        assert finish(cli(home, "serve", "--stop")) == (0, "", f"Stopped the server for {home}.\n")
        assert server.wait(DEADLINE_SECONDS) == 0 and not server_lock_held(home)
    finally:
        server.kill()
        server.communicate()


@pytest.mark.slow
def test_stop_right_after_the_search_that_starts_a_server_stops_it(tmp_path) -> None:
    # The server was still importing or loading its model: --stop said "No server is running"
    # and the server came up a moment later, to idle for half an hour.
    _, home = index_files(tmp_path, DOCS)
    assert finish(cli(home, "search", "yeast", "--mode", "bm25", autostart=True))[0] == 0
    assert finish(cli(home, "serve", "--stop")) == (0, "", f"Stopped the server for {home}.\n")
    assert not server_lock_held(home) and not starting_path(home).exists()


@pytest.mark.slow
def test_ctrl_c_stops_a_server_in_the_foreground_with_a_word(tmp_path) -> None:
    # It ended without a word, as if it had failed or been killed.
    from helpers import ctrl_c_interrupts

    _, home = index_files(tmp_path, DOCS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "serve", "--home", str(home)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=ctrl_c_interrupts,
    )
    try:
        wait_for(lambda: server_status(home) is not None, "the server")
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=DEADLINE_SECONDS)
    finally:
        server.kill()
        server.communicate()
    assert server.returncode == 0, err  # as `watch` ends on Ctrl-C: how it is meant to end
    assert err.splitlines()[1:] == [f"Stopped the server for {home}."]
    assert not socket_path(home).exists() and not server_lock_held(home)
    assert not starting_path(home).exists()  # so the next search starts a server anew


def test_ctrl_c_while_the_server_starts_says_it_did_not(tmp_path, capsys, monkeypatch) -> None:
    # It said "Interrupted. Everything committed so far is kept and searchable; run the
    # command again to finish.", the word for an interrupted index run.
    _, home = index_files(tmp_path, DOCS)

    def interrupted(self) -> None:  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr("localsearch.server.live_engine.LiveEngine.warm_up", interrupted)
    assert run_cli(["serve", "--home", str(home)], capsys) == (
        130,
        "",
        f"Interrupted; the server for {home} did not start.\n",
    )
    assert not server_lock_held(home) and not starting_path(home).exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "said"),
    [
        ("import:localsearch.cli", "Interrupted."),
        ("import:localsearch.server.service", "did not start"),
        ("call:localsearch.server.service:ServerLock.acquire", "did not start"),
        ("call:localsearch.server.live_engine:LiveEngine.warm_up", "did not start"),
        ("call:localsearch.server.service:SearchServer._install_signal_handlers", "did not start"),
        ("callback:_multiprocessing_init", "did not start"),  # in torch's first import
    ],
)
def test_ctrl_c_early_in_the_start_of_serve_exits_130_with_a_word(tmp_path, point, said) -> None:
    # A Ctrl-C within the first second of `serve` sometimes ended it by SIGINT (-2) after its
    # message, and one while it imported the engine said "run the command again to finish".
    # One while torch was first imported (any command that loads a model) could abort it (-6,
    # "terminate called after throwing an instance of 'python_error'").
    from helpers import ctrl_c_interrupts

    _, home = index_files(tmp_path, DOCS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [env.get("PYTHONPATH")])]
    )
    done = subprocess.run(
        [sys.executable, "-m", "interrupted_at", point, "serve", "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=ctrl_c_interrupts,
        timeout=DEADLINE_SECONDS,
    )
    if said == "did not start":
        said = f"Interrupted; the server for {home} did not start."
    assert (done.returncode, done.stderr.splitlines()[-1:]) == (130, [said]), done.stderr
    assert not server_lock_held(home) and not socket_path(home).exists()


@pytest.mark.slow
def test_serve_watch_carries_on_with_the_new_version_holding_its_socket_and_watch(
    tmp_path,
) -> None:
    # `serve --watch` kept running the old code, and the first search from the new version
    # stopped it, and the watch with it. Now it execs itself once the files settle, keeping
    # its pid, lock and listening socket: a search sent during the switch waits for the new
    # code rather than find no server.
    from helpers import copy_of_localsearch, ctrl_c_interrupts

    site = copy_of_localsearch(tmp_path)
    docs, home = index_files(tmp_path, DOCS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
    env |= {"PYTHONPATH": str(site), "LOCALSEARCH_SERVER_AUTOSTART": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "localsearch", "serve", "--watch", "--home", str(home)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=ctrl_c_interrupts,
    )
    assert server.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    give_up = threading.Timer(DEADLINE_SECONDS, server.kill)
    give_up.start()

    def new_code(*args: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [sys.executable, "-m", "localsearch", *args, "--home", str(home)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=DEADLINE_SECONDS,
        )
        return done.returncode, done.stdout, done.stderr

    def said(start: str) -> int:
        return sum(line.startswith(start) for line in lines)

    try:
        wait_for(lambda: said("Serving ") == 1, "the server")
        with (site / "localsearch" / "wording.py").open("a") as upgrade:
            upgrade.write("\n# the next version\n")
        # A search of the new code before the files settle: in-process, the server left be.
        code, out, err = new_code("search", "wild yeast starter", "-k", "1")
        assert (code, err) == (0, "") and out.startswith("1. Sourdough bread  ")
        wait_for(lambda: said("localsearch changed on disk") == 1, "the switch")
        new_stamp = subprocess.run(
            [
                sys.executable,
                "-c",
                "from localsearch.server.protocol import code_stamp_now as s; print(s())",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=True,
        ).stdout.strip()
        while True:  # every request in the switch is answered, by either code
            reply = ask(home, {"op": "status"}, timeout=DEADLINE_SECONDS)
            assert reply is not None, lines
            if reply["code"] == new_stamp:
                break
        assert reply["status"]["pid"] == server.pid
        wait_for(lambda: said("Serving ") == 2, "the new code's word")  # the pipe may lag
        code, out, err = new_code("search", "wild yeast starter", "-k", "1")
        assert (code, err) == (0, "") and out.startswith("1. Sourdough bread  ")
        assert server_status(home)["served"] == 1  # type: ignore[index]  # by the new code
        (docs / "owls.md").write_text("# Owls\n\nOwls hunt at night.\n")
        wait_for(lambda: said("Re-indexed in ") == 1, "the watch, after the switch")
        server.send_signal(signal.SIGINT)
        assert server.wait(DEADLINE_SECONDS) == 0
        reader.join(10)
    finally:
        give_up.cancel()
        server.kill()
    assert lines[-1:] == [f"Stopped the server for {home}.\n"], lines
    assert not socket_path(home).exists() and not server_lock_held(home)
    assert (
        lines.count(
            "localsearch changed on disk (an upgrade or an edit): serving and"
            " watching on with the new version.\n"
        )
        == 1
    ), lines


def test_a_handover_is_taken_only_by_the_process_it_was_made_for(tmp_path, monkeypatch) -> None:
    # The variable that names the socket and lock to the exec'd server is refused where it
    # names files that are not this data folder's, or reached another process (a child).
    from localsearch.server.handover import HANDOVER_VARIABLE, hand_over, take_over
    from localsearch.server.service import ServerLock

    home = tmp_path / "home"
    lock = ServerLock(home)
    lock.acquire()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path(home)))
    listener.listen(1)
    hand_over(listener, lock.hand_over())
    pid, listener_fd, lock_fd = os.environ[HANDOVER_VARIABLE].split(":")
    try:
        for value in (
            f"{int(pid) + 1}:{listener_fd}:{lock_fd}",  # another process's
            f"{pid}:{lock_fd}:{listener_fd}",  # the files the wrong way round
            f"{pid}:{listener_fd}",
        ):
            monkeypatch.setenv(HANDOVER_VARIABLE, value)
            assert take_over(home) is None and HANDOVER_VARIABLE not in os.environ
        assert take_over(tmp_path / "elsewhere") is None  # and with no variable
        monkeypatch.setenv(HANDOVER_VARIABLE, f"{pid}:{listener_fd}:{lock_fd}")
        handed = take_over(home)
        assert handed is not None and handed.lock == int(lock_fd) and server_lock_held(home)
        assert handed.listener.fileno() == int(listener_fd)
        assert not os.get_inheritable(int(listener_fd)) and not os.get_inheritable(handed.lock)
        handed.listener.close()
    finally:
        os.close(int(lock_fd))


def serve_in_thread(home: Path, idle_seconds: float):  # type: ignore[no-untyped-def]
    from localsearch.server.service import SearchServer

    server = SearchServer(load_settings(home), idle_seconds=idle_seconds)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server_status(home) is not None or not thread.is_alive(), "the server")
    return server, thread


def test_stop_and_idle_timeout_remove_the_socket(tmp_path, capsys) -> None:
    _, home = index_files(tmp_path, DOCS)
    _, thread = serve_in_thread(home, idle_seconds=0)
    assert socket_path(home).exists() and server_lock_held(home)
    for served in ("0 searches", "1 search"):
        code, out, _ = run_cli(["serve", "--status", "--home", str(home)], capsys)
        assert code == 0 and out.startswith(f"Serving {home} (pid {os.getpid()}, model ")
        assert f", {served}, up " in out
        run_cli(["search", "bread", "--home", str(home)], capsys)
    assert run_cli(["serve", "--stop", "--home", str(home)], capsys) == (
        0,
        "",
        f"Stopped the server for {home}.\n",
    )
    thread.join(10)
    assert not thread.is_alive() and not socket_path(home).exists()
    assert run_cli(["serve", "--status", "--home", str(home)], capsys) == (
        1,
        "",
        f"No server is running for {home}.\n",
    )

    _, thread = serve_in_thread(home, idle_seconds=0.5)
    thread.join(DEADLINE_SECONDS)
    assert not thread.is_alive() and not socket_path(home).exists()


def test_a_server_that_does_not_answer_is_reported_as_such(tmp_path, capsys, monkeypatch) -> None:
    # --status waited, then said that no server was running while one held the lock.
    _, home = index_files(tmp_path, DOCS)
    server, thread = serve_in_thread(home, idle_seconds=0)
    monkeypatch.setattr("localsearch.server.client.REPLY_TIMEOUT_SECONDS", 1.0)
    try:
        with busy(home):
            assert run_cli(["serve", "--status", "--home", str(home)], capsys) == (
                1,
                "",
                f"The server for {home} (pid {os.getpid()}) does not answer; end it with"
                " `localsearch serve --stop`.\n",
            )
    finally:
        server.stop()
        thread.join(10)


@pytest.mark.parametrize(("seconds", "said"), [(0, "no idle timeout"), (90, "idle timeout 90s")])
def test_the_server_says_its_idle_timeout(tmp_path, seconds, said) -> None:
    # `serve --watch` said "idle timeout 0s", which means it never times out.
    from localsearch.server.service import SearchServer

    _, home = index_files(tmp_path, DOCS)
    lines: list[str] = []
    server = SearchServer(load_settings(home), idle_seconds=seconds, log=lines.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: lines, "the server")
        assert lines[0].endswith(f" (pid {os.getpid()}); {said}.")
    finally:
        server.stop()
        thread.join(10)


def test_a_server_whose_socket_is_deleted_stops_and_frees_the_lock(tmp_path) -> None:
    # It served nobody and could not be stopped, yet its lock kept any new server out.
    _, home = index_files(tmp_path, DOCS)
    _, thread = serve_in_thread(home, idle_seconds=0)
    socket_path(home).unlink()
    thread.join(DEADLINE_SECONDS)
    assert not thread.is_alive() and not server_lock_held(home)


@pytest.mark.parametrize(("minutes", "why"), [("-1", "not in the range"), ("nan", "not a number")])
def test_a_negative_or_nan_idle_timeout_is_refused(tmp_path, capsys, minutes, why) -> None:
    # The setting refused them; the flag started a server that never timed out.
    code, out, err = run_cli(["serve", "--idle", minutes, "--home", str(tmp_path)], capsys)
    assert (code, out) == (2, "") and why in err


def test_server_errors_reach_the_cli_as_its_own(tmp_path, capsys) -> None:
    _, home = index_files(tmp_path, DOCS)
    server, thread = serve_in_thread(home, idle_seconds=0)
    try:
        assert run_cli(["search", "x", "-k", "0", "--home", str(home)], capsys) == (
            2,
            "",
            "Error: -k must be at least 1\n",
        )
        assert server.served == 0
        code, out, _ = run_cli(["search", "beekeeping hive", "--home", str(home)], capsys)
        assert code == 0 and out.startswith("1. Beekeeping notes: ")
        assert server.served == 1
        logged = SearchHistory(Store(home / "localsearch.db")).latest("cli")
        assert logged is not None and logged.query == "beekeeping hive"
        with pytest.raises(UsageError, match="k must be an integer"):
            ask(home, {"op": "search", "query": "x", "k": "ten"})
    finally:
        server.stop()
        thread.join(10)


def test_a_server_running_other_code_is_stopped_not_asked(tmp_path, capsys) -> None:
    # One left running by the version before an upgrade kept answering the new CLI.
    _, home = index_files(tmp_path, DOCS)
    server, thread = serve_in_thread(home, idle_seconds=0)
    server.code = "the code before an upgrade"
    try:
        code, out, _ = run_cli(["search", "beekeeping hive", "--home", str(home)], capsys)
        assert code == 0 and out.startswith("1. Beekeeping notes: ")
        thread.join(10)
        assert not thread.is_alive() and not socket_path(home).exists()
    finally:
        server.stop()
        thread.join(10)


def test_a_search_the_server_answers_says_that_it_rebuilds_bm25_for_a_new_version(
    tmp_path, capsys
) -> None:
    # The in-process search said so; one the server answered waited without a word.
    from localsearch.lexical import LexicalIndex
    from localsearch.server.service import SearchServer

    _, home = index_files(tmp_path, DOCS)
    lexical = LexicalIndex(home / "lexical")
    state = json.loads(lexical.state_path.read_text())
    lexical.state_path.write_text(json.dumps({**state, "schema": state["schema"] - 1}))
    lexical.close()
    lines: list[str] = []
    server = SearchServer(load_settings(home), idle_seconds=0, log=lines.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: lines, "the server")
        args = ["search", "wild yeast", "--mode", "bm25", "--json", "--home", str(home)]
        code, out, err = run_cli(args, capsys)
        notice = "Rebuilding the BM25 index for this version of localsearch (3 chunks)…"
        assert (code, err) == (0, notice + "\n")
        assert Path(json.loads(out)["results"][0]["path"]).name == "bread.md"
        assert server.served == 1 and lines[1:] == [notice]  # the server's log says it too
        code, out, err = run_cli(args, capsys)  # once
        assert (code, err, server.served) == (0, "", 2)
    finally:
        server.stop()
        thread.join(10)


def test_the_server_embeds_the_backlog_an_interrupted_index_left(
    settings, make_docs, monkeypatch
) -> None:
    from test_text_first import interrupted_index

    from localsearch.server.service import SearchServer

    monkeypatch.setattr("localsearch.embed_backlog.BACKLOG_BATCH", 2)
    interrupted_index(settings, make_docs(DOCS), batches=1)
    store = Store(settings.database_path)
    space = store.active_space()
    assert space is not None and (store.count_vectors(space), store.count("chunks")) == (2, 3)
    lines: list[str] = []
    server = SearchServer(settings, idle_seconds=0, log=lines.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: "Embedded the backlog: 1 chunk (0 reused)." in lines, "the backlog")
        assert store.count_vectors(space) == 3
        reply = ask(settings.home, {"op": "search", "query": "queen and drones", "mode": "dense"})
        assert reply is not None
        found = reply["results"]
        assert Path(found["results"][0]["path"]).name == "notes.txt"
        assert "dense" not in found and "warnings" not in found
    finally:
        server.stop()
        thread.join(30)
        store.close()


def test_the_server_embeds_an_index_whose_first_run_stopped_before_any_vector(
    settings, make_docs
) -> None:
    # An index stopped in its text phase has no model yet: `serve` refused ("the index has no
    # vectors yet — run `localsearch index PATH` first") and a search's server died at start.
    from test_text_first import interrupted_index

    from localsearch.server.service import SearchServer

    interrupted_index(settings, make_docs(DOCS), batches=None)
    store = Store(settings.database_path)
    assert store.active_space() is None and store.count("chunks") == 3
    lines: list[str] = []
    server = SearchServer(settings, idle_seconds=0, log=lines.append)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        embedded = "Embedded the backlog: 3 chunks (0 reused)."
        wait_for(lambda: embedded in lines or not thread.is_alive(), "the backlog")
        assert embedded in lines
        space = store.active_space()
        assert space is not None and store.count_vectors(space) == 3
        reply = ask(settings.home, {"op": "search", "query": "queen and drones", "mode": "dense"})
        assert reply is not None
        found = reply["results"]
        assert Path(found["results"][0]["path"]).name == "notes.txt"
        assert "dense" not in found and "warnings" not in found
        assert server.engine.current().keep_vectors  # warmed up once the vectors came
    finally:
        server.stop()
        thread.join(30)
        store.close()


def test_the_client_path_imports_no_engine(tmp_path) -> None:
    script = (
        "import sys\n"
        "from localsearch.cli import app\n"
        "import localsearch.cli.search_cmd, localsearch.server.client\n"
        "heavy = {'torch', 'numpy', 'apsw', 'tantivy', 'sentence_transformers', 'rich'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
