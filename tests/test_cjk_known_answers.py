"""A known-answer floor on real Chinese and Japanese documentation (../shared/corpora/cjk-docs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from background_eval import CJK_SAMPLE, CORPUS_SAMPLES
from conftest import SHARED, require
from helpers import known_answer_scores, read_known_answers

CJK_CORPUS = SHARED / "corpora" / "cjk-docs"
CJK_QUERIES = SHARED / "corpora" / "queries" / "cjk-docs.tsv"

# (Hit@10, MRR@10) floors below what was measured with the bundled English MiniLM on the 30
# targets plus every 6th other file (77 files): bm25 0.967/0.805, hybrid 1.000/0.798 (weighted
# fusion; the hybrid floor leaves room for the fusion default). On the whole corpus (311
# files, 6334 chunks): bm25 0.867/0.586, hybrid 0.867/0.606, dense 0.300/0.114.
CJK_FLOORS = {"hybrid": (0.85, 0.60), "bm25": (0.90, 0.72)}


def cjk_queries() -> list[tuple[str, str]]:
    return read_known_answers(require(CJK_QUERIES))


@pytest.fixture(scope="module")
def cjk_known_answer_home(request: pytest.FixtureRequest) -> Path:
    """The targets plus every 6th other file (helpers.cjk_known_answer_sample), indexed in the
    background since the session began."""
    require(CJK_CORPUS), require(CJK_QUERIES)
    return request.config.stash[CORPUS_SAMPLES].home(CJK_SAMPLE)


@pytest.mark.slow
def test_cjk_known_answer_floor(cjk_known_answer_home: Path) -> None:
    measured = known_answer_scores(cjk_known_answer_home, cjk_queries(), CJK_FLOORS)
    for mode, (hit_floor, mrr_floor) in CJK_FLOORS.items():
        hit_at_10, mrr = measured[mode]
        assert hit_at_10 >= hit_floor and mrr >= mrr_floor, measured
