"""BM25 left behind SQLite, as a kill -9 between two paced commits leaves it: the catch-up from
the change log (lexical/catch_up.py) against the whole rebuild it replaces.

    python benchmarks/bm25_catch_up.py --home DIR [--corpus ../shared/corpora/opensource-docs]
        [--chunks-behind 5000] [--deleted 5] [--rounds 3]

The first run indexes the corpus's text into --home (the text phase alone, no model: see
benchmarks/text_phase.py); later runs reuse it. Each round copies that home, then replaces the
chunks of documents chosen at random, as re-indexing edited files does, one SQLite batch (data
version) per 256 chunks, until --chunks-behind chunks are new, and deletes --deleted documents,
with BM25 told nothing: what tantivy misses after a kill in the middle of an index run (the
paced commits come every 5 s; the docs corpus's text phase commits ~1,000 chunks a second on
the 2-core machine). It then times the next sync (Index.sync_lexical: the catch-up) and a
whole rebuild of the same state into another folder, both in a process whose Chinese and
Japanese segmenters are loaded already (either pays ~1 s for that at its first CJK chunk, and
the docs corpus has a few). The load average is printed with each round.

Then it checks the catch-up's answers to the corpus's known-answer queries (top 100) against
those of a copy where the run was not killed, its last paced commit applying the same changes
(LexicalIndex.apply): the same chunk ids and scores exactly, both indexes holding the same
documents and the same deleted ones. Against the whole rebuild it counts the queries with the
same top 10 chunk ids (as sets; chunks of equal score come in any order) and the largest
difference in score: tantivy counts deleted documents in its BM25 statistics until a merge
drops them, after a catch-up as after any index run, and a rebuild has none.

Figures: the README's "Crash-safe" point gives them with the load they were measured at.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from localsearch.config import Settings, load_settings  # noqa: E402
from localsearch.embed_backlog import embed_hash  # noqa: E402
from localsearch.index import Index  # noqa: E402
from localsearch.ingest.types import Chunk  # noqa: E402
from localsearch.language import analysed_text  # noqa: E402
from localsearch.lexical import LexicalIndex  # noqa: E402
from localsearch.lexical.catch_up import rebuild_whole  # noqa: E402
from localsearch.store import Store  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpora" / "opensource-docs"
BATCH_CHUNKS = 256  # as index.py commits them


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def text_indexed_home(home: Path, corpus: Path) -> Settings:
    """A home with the corpus's text indexed (no vectors), made once."""
    settings = load_settings(home, extract_workers=2)
    if settings.database_path.exists():
        return settings
    from text_phase import TextOnlyIndex

    started = time.perf_counter()
    index = TextOnlyIndex(settings)
    try:
        report = index.update([corpus])
    finally:
        index.close()
    print(
        f"indexed the text of {corpus} into {home}: {report.chunks} chunks in"
        f" {time.perf_counter() - started:.0f} s ({load()})",
        flush=True,
    )
    return settings


def leave_bm25_behind(
    settings: Settings, chunks_behind: int, deleted: int, seed: int
) -> tuple[int, list[int], list[int]]:
    """Replace documents' chunks in SQLite until `chunks_behind` are new and delete `deleted`
    documents, a data version per batch, BM25 not told: (the data versions added, the
    documents changed or deleted, the chunk ids added)."""
    rng = random.Random(seed)
    store = Store(settings.database_path)
    try:
        doc_ids = [int(r[0]) for r in store.conn.execute("SELECT id FROM documents")]
        rng.shuffle(doc_ids)
        spaces = store.spaces()
        versions = replaced = pending = 0
        batch: list[int] = []
        added: list[int] = []

        def commit(ids: list[int]) -> None:
            nonlocal versions
            with store.transaction():
                for doc_id in ids:
                    old = store.chunks_of_documents([doc_id])
                    store.delete_chunks_of(doc_id, spaces)
                    chunks = [
                        Chunk(c.text, c.heading, c.page, c.start_line, c.end_line) for c in old
                    ]
                    hashes = [embed_hash(c.text) for c in chunks]
                    added.extend(store.insert_chunks(doc_id, chunks, hashes))
                store.bump_data_version()
            versions += 1

        changed = doc_ids[:deleted]
        for doc_id in doc_ids[deleted:]:
            if replaced >= chunks_behind:
                break
            changed.append(doc_id)
            count = len(store.chunk_ids_of([doc_id]))
            batch.append(doc_id)
            replaced += count
            pending += count
            if pending >= BATCH_CHUNKS:
                commit(batch)
                batch, pending = [], 0
        if batch:
            commit(batch)
        if deleted:
            with store.transaction():
                store.delete_documents(doc_ids[:deleted], spaces)
                store.bump_data_version()
            versions += 1
        return versions, changed, added
    finally:
        store.close()


def queries(corpus: Path) -> list[str]:
    path = corpus.parent / "queries" / f"{corpus.name}.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines if line.strip()]


def one_round(settings: Settings, work: Path, args: argparse.Namespace, seed: int) -> None:
    copy, applied = work / "home", work / "applied"
    for folder in (copy, applied):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(settings.home, copy)
    copied = load_settings(copy)
    versions, changed_docs, added = leave_bm25_behind(
        copied, args.chunks_behind, args.deleted, seed
    )
    shutil.copytree(copy, applied)
    store = Store(copied.database_path)
    lexical = LexicalIndex(copied.lexical_dir)
    since = lexical.synced_log_seq()
    changed = store.vector_changes_since(since) if since is not None else None
    lexical.close()
    uninterrupted = LexicalIndex(applied / "lexical")
    rows = store.chunks_by_id(added)
    uninterrupted.apply(changed_docs, [rows[i] for i in added], store.data_version())
    before = load()

    index = Index(copied)
    try:
        started = time.perf_counter()
        done = index.sync_lexical()
        caught_up = time.perf_counter() - started
    finally:
        index.close()
    rebuilt = LexicalIndex(work / "rebuilt")
    started = time.perf_counter()
    rebuild_whole(rebuilt, store)
    rebuild = time.perf_counter() - started

    lexical = LexicalIndex(copied.lexical_dir)
    as_run = same_top = same_top_run = 0
    score_gap = 0.0
    asked = queries(args.corpus)
    try:
        for query in asked:
            mine, fresh = lexical.search(query, 100), rebuilt.search(query, 100)
            run = uninterrupted.search(query, 100)
            as_run += sorted(mine) == sorted(run)
            same_top += {c for c, _ in mine[:10]} == {c for c, _ in fresh[:10]}
            same_top_run += {c for c, _ in run[:10]} == {c for c, _ in fresh[:10]}
            theirs = dict(fresh)
            score_gap = max(
                [score_gap]
                + [abs(s - theirs[c]) / theirs[c] for c, s in mine if c in theirs and theirs[c]]
            )
    finally:
        for index_read in (lexical, rebuilt, uninterrupted):
            index_read.close()
        chunks = store.count("chunks")
        store.close()
    print(
        f"{versions} data versions behind ({len(changed or [])} chunk ids logged, of {chunks}):"
        f" {done.value} in {caught_up:.2f} s; a whole rebuild {rebuild:.2f} s"
        f" ({before}; after: {load()}). Top 100 as the run not killed: {as_run}/{len(asked)};"
        f" top 10 as a rebuild's: {same_top}/{len(asked)} (the run not killed:"
        f" {same_top_run}/{len(asked)}), scores within {score_gap * 100:.1f}%",
        flush=True,
    )
    for folder in (work / "rebuilt", applied):
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="text-indexed home (made once)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--chunks-behind", type=int, default=5000)
    parser.add_argument("--deleted", type=int, default=5, help="documents deleted too")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = text_indexed_home(args.home, args.corpus)
    analysed_text("中文分词", "zh"), analysed_text("日本語の文章", "ja")  # segmenters loaded
    with tempfile.TemporaryDirectory(dir=args.home.parent) as work:
        for round_number in range(args.rounds):
            one_round(settings, Path(work), args, seed=round_number)


if __name__ == "__main__":
    main()
