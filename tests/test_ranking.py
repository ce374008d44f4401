"""The ranking levers of issue #10: BM25 query terms, chunk aggregation, the weak-match signal,
neighbour smoothing; and a document's opening chunk on the dense side."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from helpers import index_files, run_cli

from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.lexical.tantivy_index import build_query_text
from localsearch.search.aggregate import dense_documents, documents_from_chunks, with_opening
from localsearch.search.calibrate import WEAK_COSINE, is_weak_match
from localsearch.search.engine import SearchEngine
from localsearch.search.neighbours import NEIGHBOURS, TOP, smooth_scores
from localsearch.search.query_terms import bm25_query_text

DOCS = {
    "directives.md": "# Writing your own directive\n\nA directive class has a run method that"
    " returns nodes; register it with the parser to use it in documents.\n",
    "todo.md": "# To do\n\n- write more tests\n- own the release process\n- a directive for"
    " tables\n- how do we do this\n",
    "tides.md": "# Tidal power\n\nTidal turbines turn the rise and fall of the sea into"
    " electricity.\n",
}


@pytest.fixture(scope="module")
def ranking_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return index_files(tmp_path_factory.mktemp("ranking"), DOCS)


# -- BM25 query terms -------------------------------------------------------------------------


def test_function_words_are_weighed_down_when_content_words_exist() -> None:
    assert bm25_query_text("How do I write my own directive?", 0.25) == (
        "how^0.25 do^0.25 i^0.25 write my^0.25 own directive"
    )
    assert bm25_query_text("How do I write my own directive?", 0.0) == "write own directive"
    assert bm25_query_text("How do I write my own directive?", 1.0) == (
        "how do i write my own directive"
    )


def test_a_query_of_function_words_only_keeps_them_and_phrases_survive() -> None:
    assert bm25_query_text("what is this", 0.0) == "what is this"
    assert bm25_query_text('the "Sea Level" of it', 0.0) == '"sea level" level sea'
    assert bm25_query_text("a:b AND (c)", 0.0) == "b c"


def test_proximity_adds_a_sloppy_phrase_per_neighbouring_content_word_pair() -> None:
    assert bm25_query_text("How do I write my own directive?", 1.0, 0.5, 3) == (
        'how do i write my own directive "write own"~3^0.5 "own directive"~3^0.5'
    )
    assert bm25_query_text("directive", 1.0, 0.5, 3) == "directive"  # one word: no pair
    assert bm25_query_text('the "sea level" rises', 1.0, 0.5, 3) == (
        '"sea level" the rises level sea'  # a quoted phrase already says what belongs together
    )


def test_proximity_boost_zero_leaves_the_query_as_it_was() -> None:
    for query in ("How do I write my own directive?", "sea level rise", 'a "b c" d', "what"):
        assert bm25_query_text(query, 1.0, 0.0, 4) == build_query_text(query)
        assert bm25_query_text(query, 0.25, 0.0, 4) == bm25_query_text(query, 0.25)


_FILLER = " ".join(f"filler{n}" for n in range(30))
PROXIMITY_DOCS = {
    # The same words, as many times, in chunks of the same length: only their distance differs.
    "apart.md": f"coral {_FILLER} reef {_FILLER}\n",
    "together.md": f"coral reef {_FILLER} {_FILLER}\n",
}


def test_words_close_together_outrank_words_far_apart_only_with_the_boost(tmp_path) -> None:
    _, home = index_files(tmp_path, PROXIMITY_DOCS)

    def bm25_scores(**settings: float) -> dict[str, float]:
        engine = SearchEngine(load_settings(home, **settings))
        try:
            hits = engine.search("coral reef", k=2, mode="bm25", snippets=False).hits
        finally:
            engine.close()
        return {Path(hit.path).name: hit.score for hit in hits}

    today = bm25_scores()
    assert today["together.md"] == pytest.approx(today["apart.md"])
    boosted = bm25_scores(bm25_proximity_boost=1.0, bm25_proximity_slop=2)
    assert boosted["together.md"] > boosted["apart.md"] * 1.2
    assert boosted["apart.md"] == pytest.approx(today["apart.md"])  # 30 words apart: no match


# -- aggregation ------------------------------------------------------------------------------


def test_a_document_scores_as_its_best_chunk_plus_a_capped_decayed_share() -> None:
    chunks = {1: 0.9, 2: 0.5, 3: 0.5, 4: 0.5, 5: 0.8}
    owners = {1: 10, 2: 10, 3: 10, 4: 10, 5: 20}
    assert documents_from_chunks(chunks, owners, depth=5) == {10: (0.9, 1), 20: (0.8, 5)}
    decayed = documents_from_chunks(chunks, owners, depth=5, decay=0.5)
    # Only two further chunks count: 0.9 + 0.5 * 0.5 + 0.5 * 0.25, not a third.
    assert decayed[10] == (pytest.approx(0.9 + 0.25 + 0.125), 1)
    assert list(documents_from_chunks(chunks, owners, depth=1)) == [10]
    assert documents_from_chunks({7: 1.0}, owners, depth=5) == {}  # a deleted chunk's owner


def test_a_document_shows_its_first_best_chunk_and_equal_documents_keep_their_order() -> None:
    rng = random.Random(3)
    for _ in range(200):
        chunks = {c: rng.choice([0.1, 0.5, 0.5, 0.9]) for c in rng.sample(range(100), 30)}
        owners = {c: c % 7 for c in chunks if c % 11}
        per_document: dict[int, list[tuple[float, int]]] = {}
        for chunk_id, score in chunks.items():
            if chunk_id in owners:
                per_document.setdefault(owners[chunk_id], []).append((score, chunk_id))
        best = {doc: max(found, key=lambda pair: pair[0]) for doc, found in per_document.items()}
        expected = sorted(best.items(), key=lambda item: -item[1][0])[:5]
        assert list(documents_from_chunks(chunks, owners, depth=5).items()) == expected


def test_a_document_adds_a_share_of_its_opening_chunk_or_of_the_lowest_candidate() -> None:
    chunks = {1: 0.7, 2: 0.8, 3: 0.9, 4: 0.2, 5: 0.6}
    owners = {1: 10, 2: 10, 3: 20, 4: 20, 5: 30}
    documents = documents_from_chunks(chunks, owners, depth=5)
    assert list(documents) == [20, 10, 30]
    # 10 opens with chunk 1 and 30 with chunk 5; 20's opening is not among the candidates, so
    # it adds what the lowest candidate (chunk 4, 0.2) would: 10 passes it.
    opened = with_opening(documents, chunks, owners, {1, 5}, share=0.5)
    assert list(opened) == [10, 20, 30]
    assert opened[10] == (pytest.approx(0.8 + 0.5 * 0.7), 2)  # still shown through its best
    assert opened[20] == (pytest.approx(0.9 + 0.5 * 0.2), 3)
    assert opened[30] == (pytest.approx(0.6 + 0.5 * 0.6), 5)
    assert list(with_opening(documents, chunks, owners, {1, 5}, share=2.0)) == [10, 30, 20]
    assert with_opening(documents, chunks, owners, {1, 5}, share=0.0) == documents


def test_dense_documents_ask_for_openings_only_when_they_count() -> None:
    chunks, owners = {1: 0.4, 2: 0.9}, {1: 10, 2: 20}
    asked: list[list[int]] = []

    def openings_of(document_ids: list[int]) -> set[int]:
        asked.append(document_ids)
        return {1, 99}  # 99 opens a document that is not a candidate

    plain = dense_documents(chunks, owners, 5, 0.0, 0.0, openings_of)
    assert plain == {20: (0.9, 2), 10: (0.4, 1)} and asked == []
    assert dense_documents({}, owners, 5, 0.0, 1.0, openings_of) == {} and asked == []
    opened = dense_documents(chunks, owners, 5, 0.0, 1.0, openings_of)
    assert opened == {10: (pytest.approx(0.8), 1), 20: (pytest.approx(1.3), 2)}
    assert asked == [[20, 10]]


OPENING_DOCS = {
    "howto.md": "# Making new directives\n\nThis guide shows how to write a directive of your own"
    " for the parser, step by step.\n\n## The class\n\nSubclass the base class and set its"
    " arguments and options.\n\n## Registering it\n\nCall the registry with the name it will be"
    " used by.\n",
    "reference.md": "# Markup reference\n\nEvery construct of the markup language, in the order"
    " of the specification.\n\n## Tables\n\nGrid tables and simple tables are drawn with"
    " characters.\n\n## Directives\n\nHow do I write my own directive? Directives are the"
    " extension mechanism of the markup: write your own with a class.\n",
}


def test_a_document_that_opens_with_the_answer_outranks_a_passage_elsewhere(tmp_path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    for name, text in OPENING_DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    index = Index(load_settings(home, chunk_tokens=32, chunk_overlap=0))  # three chunks each
    try:
        index.update([docs])
    finally:
        index.close()

    def dense_ranking(warm: bool, **settings: float) -> list[tuple[str, str]]:
        engine = SearchEngine(load_settings(home, **settings))
        try:
            if warm:
                engine.warm_up()
            hits = engine.search("how do I write my own directive", mode="dense").hits
        finally:
            engine.close()
        return [(Path(hit.path).name, hit.heading) for hit in hits]

    # The reference's passage is nearer the question than any chunk of the how-to, but the
    # how-to's opening is about it: with the opening's share the how-to comes first, and each
    # document is still shown through its best chunk.
    assert dense_ranking(False, opening_share=0.0) == [
        ("reference.md", "Markup reference > Directives"),
        ("howto.md", "Making new directives"),
    ]
    expected = [
        ("howto.md", "Making new directives"),
        ("reference.md", "Markup reference > Directives"),
    ]
    assert dense_ranking(False) == expected
    assert dense_ranking(True) == expected


# -- weak match -------------------------------------------------------------------------------


def test_weak_match_needs_both_sides_to_find_nothing_good() -> None:
    close, far = WEAK_COSINE + 0.05, WEAK_COSINE - 0.05
    assert is_weak_match("hybrid", False, far) is True
    assert is_weak_match("hybrid", True, far) is False
    assert is_weak_match("hybrid", False, close) is False
    assert is_weak_match("dense", True, far) is True
    assert is_weak_match("dense", False, None) is True
    assert is_weak_match("bm25", False, None) is True
    assert is_weak_match("bm25", True, None) is False


def test_nonsense_is_flagged_as_a_weak_match(ranking_index, capsys) -> None:
    _, home = ranking_index
    code, out, err = run_cli(["search", "qwxzv plorkk", "--home", str(home), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["weak_match"] is True
    assert data["results"]  # the nearest are still shown, marked as such
    code, out, err = run_cli(["search", "qwxzv plorkk", "--home", str(home)], capsys)
    assert code == 0
    assert err == ("Weak match: nothing here matches the query well; these are only the nearest.\n")
    assert out.startswith("1. ")


def test_a_real_question_is_not_weak(ranking_index, capsys) -> None:
    _, home = ranking_index
    code, out, err = run_cli(
        ["search", "how do I write my own directive", "--home", str(home), "--json"], capsys
    )
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["weak_match"] is False
    assert data["results"]


def test_function_words_alone_are_no_match(ranking_index, capsys) -> None:
    _, home = ranking_index
    for mode in ("bm25", "hybrid"):
        code, out, err = run_cli(
            ["search", "how do qwxzv", "--mode", mode, "--home", str(home), "--json"], capsys
        )
        assert code == 0, err
        data = json.loads(out)
        assert data["results"] and data["weak_match"] is True, mode


# -- fusion -----------------------------------------------------------------------------------


def test_zscore_fusion_scores_how_far_each_side_stands_out() -> None:
    from localsearch.search.fusion import fuse_hybrid, normalise_zscore

    assert normalise_zscore({"a": 3.0, "b": 1.0}) == {"a": 1.0, "b": -1.0}
    assert normalise_zscore({"a": 5.0}) == {"a": 1.0}
    # BM25 finds a far ahead; dense finds b and c close together, and never sees a.
    fused = fuse_hybrid(
        {"a": 30.0, "b": 10.0, "c": 10.0, "d": 10.0},
        {"b": 0.62, "c": 0.60, "d": 0.20},
        fusion="zscore",
        rrf_k=60,
        bm25_weight=0.5,
        dense_weight=0.5,
    )
    bm25_z = normalise_zscore({"a": 30.0, "b": 10.0, "c": 10.0, "d": 10.0})
    dense_z = normalise_zscore({"b": 0.62, "c": 0.60, "d": 0.20})
    # a missing dense score counts as the lowest dense z-score, as 0 does under min-max
    assert fused["a"] == pytest.approx(0.5 * bm25_z["a"] + 0.5 * dense_z["d"])
    assert fused["b"] == pytest.approx(0.5 * bm25_z["b"] + 0.5 * dense_z["b"])
    assert max(fused, key=fused.__getitem__) == "a"


# -- neighbour smoothing ----------------------------------------------------------------------


def test_a_document_among_strong_neighbours_rises_over_one_among_weak_ones() -> None:
    import numpy as np

    axes = np.eye(3, dtype=np.float32)
    fused: dict[int, float] = {}
    vectors = {}
    for n in range(NEIGHBOURS):
        fused[100 + n], vectors[100 + n] = 2.0, axes[0]  # a strong cluster
        fused[200 + n], vectors[200 + n] = 0.0, axes[1]  # a weak one
    fused[1], vectors[1] = 0.9, axes[0] * 3  # a vector's length does not matter
    fused[2], vectors[2] = 1.0, axes[1]
    for n in range(TOP):
        fused[300 + n], vectors[300 + n] = -5.0 - n, axes[2]  # ranked past the TOP at the end
    fused[9] = 1.5  # no vector: left as it was

    smoothed, added = smooth_scores(fused, vectors, 0.5)
    assert smoothed[1] == pytest.approx(0.9 + 0.5 * 2.0)
    assert smoothed[2] == pytest.approx(1.0 + 0.5 * 0.0)
    assert smoothed[1] > smoothed[2]
    assert smoothed[9] == 1.5 and 9 not in added
    assert smoothed[300 + TOP - 1] == fused[300 + TOP - 1]  # not among the TOP
    assert added[1] == pytest.approx(1.0) and len(added) == TOP
    assert smooth_scores(fused, vectors, 0.0) == (fused, {})
    few = {d: fused[d] for d in list(fused)[:NEIGHBOURS]}
    assert smooth_scores(few, vectors, 0.5) == (few, {})  # no neighbourhood to speak of


SMOOTHING_DOCS = {
    f"{name}.md": f"# {name.title()}\n\n{text}\n"
    for name, text in {
        "tides": "Tidal turbines turn the rise and fall of the sea into electricity.",
        "waves": "Wave energy converters ride the swell and drive generators.",
        "wind": "Offshore wind farms stand on foundations in shallow seas.",
        "solar": "Solar panels turn sunlight into electricity on rooftops.",
        "hydro": "Dams hold back rivers and release water through turbines.",
        "grid": "The power grid balances supply and demand every second.",
        "storage": "Batteries store electricity for the evening peak.",
        "bread": "Sourdough bread rises slowly with wild yeast and flour.",
        "pasta": "Fresh pasta needs eggs, flour and a long rest.",
        "soup": "A winter soup of leeks and potatoes simmers for an hour.",
        "cake": "A sponge cake rises in a hot oven with beaten eggs.",
        "salad": "A summer salad of tomatoes and basil needs good oil.",
        "tea": "Green tea is steeped briefly in water below boiling.",
        "coffee": "Espresso forces hot water through finely ground coffee.",
    }.items()
}


def test_hybrid_scores_add_their_neighbours_share_warm_or_not(
    tmp_path, capsys, monkeypatch
) -> None:
    _, home = index_files(tmp_path, SMOOTHING_DOCS)

    def scores(
        warm: bool, query: str = "electricity from the sea", **settings: float
    ) -> dict[str, tuple[float, float | None]]:
        engine = SearchEngine(load_settings(home, **settings))
        try:
            if warm:
                engine.warm_up()  # vectors from memory rather than from the store
            hits = engine.search(query, k=14, snippets=False).hits
        finally:
            engine.close()
        return {Path(hit.path).name: (hit.score, hit.neighbours) for hit in hits}

    plain = scores(False, neighbour_smoothing=0.0)
    smoothed = scores(False, neighbour_smoothing=0.5)
    assert all(added is None for _, added in plain.values())
    assert len(smoothed) == len(SMOOTHING_DOCS)
    for name, (score, added) in smoothed.items():
        assert added is not None and score == pytest.approx(plain[name][0] + added)
    # The bundled model reads Chinese and Japanese as noise: their neighbours would be too.
    cjk = scores(False, "海の電気", neighbour_smoothing=0.5)
    assert len(cjk) == len(SMOOTHING_DOCS) and all(added is None for _, added in cjk.values())
    warm = scores(True, neighbour_smoothing=0.5)
    assert warm.keys() == smoothed.keys()
    for name, (score, added) in warm.items():
        assert (score, added) == pytest.approx(smoothed[name], abs=1e-5)  # float32 either way

    explain = ["search", "electricity from the sea", "--home", str(home), "--json", "--explain"]
    code, out, err = run_cli(explain, capsys)
    assert code == 0, err
    assert "neighbours" not in json.loads(out)["results"][0]["explain"]  # off by default
    monkeypatch.setenv("LOCALSEARCH_NEIGHBOUR_SMOOTHING", "0.5")
    code, out, err = run_cli(explain, capsys)
    assert code == 0, err
    assert "neighbours" in json.loads(out)["results"][0]["explain"]
    code, out, err = run_cli(
        ["search", "electricity from the sea", "--home", str(home), "--explain"], capsys
    )
    assert code == 0, err
    assert "; neighbours " in out
