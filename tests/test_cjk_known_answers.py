"""A known-answer floor on real Chinese and Japanese documentation (../shared/corpora/cjk-docs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SHARED, require

from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.search.engine import SearchEngine

CJK_CORPUS = SHARED / "corpora" / "cjk-docs"
CJK_QUERIES = SHARED / "corpora" / "queries" / "cjk-docs.tsv"

# (Hit@10, MRR@10) floors below what was measured with the bundled English MiniLM on the 30
# targets plus every 6th other file (77 files): bm25 0.967/0.805, hybrid 1.000/0.798 (weighted
# fusion; the hybrid floor leaves room for the fusion default). On the whole corpus (311
# files, 6334 chunks): bm25 0.867/0.586, hybrid 0.867/0.606, dense 0.300/0.114.
CJK_FLOORS = {"hybrid": (0.85, 0.60), "bm25": (0.90, 0.72)}
DISTRACTOR_STRIDE = 6


def cjk_queries() -> list[tuple[str, str]]:
    lines = require(CJK_QUERIES).read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t")) for line in lines if line.strip()]  # type: ignore[misc]


@pytest.fixture(scope="module")
def cjk_known_answer_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = require(CJK_CORPUS)
    targets = {suffix for _, suffix in cjk_queries()}
    others = sorted(
        str(p.relative_to(corpus))
        for p in corpus.rglob("*.md")
        if str(p.relative_to(corpus)) not in targets
    )
    base = tmp_path_factory.mktemp("cjk-known-answer")
    for relative in sorted(targets) + others[::DISTRACTOR_STRIDE]:
        (base / "docs" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / relative, base / "docs" / relative)
    index = Index(load_settings(base / "home"))
    try:
        index.update([base / "docs"])
    finally:
        index.close()
    return base / "home"


@pytest.mark.slow
def test_cjk_known_answer_floor(cjk_known_answer_home: Path) -> None:
    queries = cjk_queries()
    engine = SearchEngine(load_settings(cjk_known_answer_home))
    measured = {}
    try:
        engine.warm_up()
        for mode in CJK_FLOORS:
            hits, reciprocal = 0, 0.0
            for query, suffix in queries:
                paths = [h.path for h in engine.search(query, k=10, mode=mode).hits]
                rank = next((i for i, p in enumerate(paths, 1) if p.endswith(suffix)), None)
                hits += rank is not None
                reciprocal += 1 / rank if rank else 0.0
            measured[mode] = (hits / len(queries), reciprocal / len(queries))
    finally:
        engine.close()
    for mode, (hit_floor, mrr_floor) in CJK_FLOORS.items():
        hit_at_10, mrr = measured[mode]
        assert hit_at_10 >= hit_floor and mrr >= mrr_floor, measured
