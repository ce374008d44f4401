"""Time to the first BM25 answer, and to the full index, from starting `localsearch index`.

Indexing commits text first and embeds after (localsearch/embed_backlog.py), so keyword search
should answer within seconds of the start while dense search fills in. This script starts
`localsearch index CORPUS` in a fresh home, in a subprocess, and runs `localsearch search QUERY
--mode bm25 --json` in a loop (each a new process, as a user would, with no resident server)
until one returns a result. It prints the seconds from the start to that first answer, then
follows `localsearch status --json` until the index process ends and prints the seconds to
full completion (every chunk embedded), with the load average at each point.

    python benchmarks/first_search.py [--corpus ../shared/corpora/opensource-docs]
        [--query "configuration file"] [--first-only] [--timeout 7200]

`--first-only` stops the index run once BM25 has answered (the first figure alone).

Figures: see the README's "Indexing" section, which gives them with the load they were
measured at.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localsearch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def status(env: dict[str, str]) -> dict[str, int]:
    done = cli("status", "--json", env=env)
    if done.returncode != 0:
        return {}
    data = json.loads(done.stdout)
    return {key: int(data[key]) for key in ("documents", "chunks", "vectors")}


def watch_in_process(home: Path, query: str, started: float, found: list[float]) -> None:
    """Search BM25 in this process every 0.1 s: when the index could first answer, apart from
    the seconds a new `localsearch search` process takes to start."""
    from localsearch.config import load_settings
    from localsearch.search import SearchEngine

    settings = load_settings(home)
    while not found and time.monotonic() - started < 600:
        try:
            engine = SearchEngine(settings)
            try:
                if engine.search(query, mode="bm25", k=1, snippets=False).hits:
                    found.append(time.monotonic() - started)
            finally:
                engine.close()
        except Exception:  # noqa: BLE001 - no database or BM25 index yet
            pass
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=REPO.parent / "shared" / "corpora" / "opensource-docs"
    )
    parser.add_argument("--query", default="configuration file")
    parser.add_argument("--first-only", action="store_true", help="stop after the first answer")
    parser.add_argument("--timeout", type=float, default=7200.0, help="give up after (s)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="first-search-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOCALSEARCH_HOME": str(home),
        "LOCALSEARCH_SERVER_AUTOSTART": "0",
        "HF_HUB_OFFLINE": "1",
    }
    print(f"corpus {args.corpus}; query {args.query!r}; {load()}", flush=True)
    started = time.monotonic()
    log = home.parent / (home.name + ".log")  # a file, not a pipe: warnings cannot block it
    with log.open("w") as stderr:
        indexer = subprocess.Popen(
            [sys.executable, "-m", "localsearch", "index", str(args.corpus), "--quiet"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    answerable: list[float] = []
    threading.Thread(
        target=watch_in_process, args=(home, args.query, started, answerable), daemon=True
    ).start()
    try:
        first = None
        polls = 0
        while time.monotonic() - started < args.timeout and first is None:
            polls += 1
            found = cli("search", args.query, "--mode", "bm25", "--json", "-k", "3", env=env)
            if found.returncode == 0 and json.loads(found.stdout)["results"]:
                first = time.monotonic() - started
                hit = json.loads(found.stdout)["results"][0]["path"]
            elif indexer.poll() is not None:
                break
        if first is None:
            print(f"no BM25 answer (index exited {indexer.poll()}); {load()}")
            return
        counts = status(env)
        if answerable:
            print(f"BM25 answers (in-process check) after {answerable[0]:.1f} s", flush=True)
        print(
            f"first `localsearch search --mode bm25` answer after {first:.1f} s ({polls} tried):"
            f" {hit};"
            f" by then {counts.get('documents', 0):,} documents, {counts.get('chunks', 0):,}"
            f" chunks, {counts.get('vectors', 0):,} embedded; {load()}",
            flush=True,
        )
        if args.first_only:
            return
        last_report = time.monotonic()
        while indexer.poll() is None and time.monotonic() - started < args.timeout:
            time.sleep(2.0)
            if time.monotonic() - last_report >= 60:
                counts = status(env)
                print(
                    f"  {time.monotonic() - started:.0f} s: {counts.get('vectors', 0):,} of"
                    f" {counts.get('chunks', 0):,} chunks embedded; {load()}",
                    flush=True,
                )
                last_report = time.monotonic()
        if indexer.poll() is None:
            print(f"gave up after {args.timeout:.0f} s; {load()}")
            return
        total = time.monotonic() - started
        counts = status(env)
        summary = log.read_text().strip().splitlines()
        print(
            f"complete after {total:.1f} s (exit {indexer.returncode}):"
            f" {counts.get('documents', 0):,} documents, {counts.get('chunks', 0):,} chunks,"
            f" {counts.get('vectors', 0):,}"
            f" embedded ({counts.get('chunks', 0) / total:.1f} chunks/s overall); {load()}"
        )
        if summary:
            print("index said: " + summary[-1])
    finally:
        if indexer.poll() is None:
            indexer.kill()
            indexer.wait()
        shutil.rmtree(home, ignore_errors=True)
        log.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
