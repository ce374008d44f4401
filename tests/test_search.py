"""`localsearch search` and the ranking behind it: CLI output, filters, hostile queries, fusion,
the in-memory dense path, and a known-answer floor on real documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from background_eval import CORPUS_SAMPLES, DOCS_SAMPLE
from helpers import (
    index_files,
    known_answer_scores,
    read_known_answers,
    run_cli,
    search_in_fresh_process,
)

from localsearch.cli.search_cmd import WEAK_MATCH_NOTE
from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.search.engine import SearchEngine
from localsearch.search.fusion import fuse_rrf, fuse_weighted, normalise_minmax, ranks_of
from localsearch.search.vectors import VectorIndex

DOCS = {
    "tides.md": "# Tidal power\n\nTidal turbines turn the rise and fall of the sea into"
    " electricity. Estuaries with a large tidal range, such as the Severn, suit barrages.\n\n"
    "## Costs\n\nBarrages are expensive to build but last a century.\n",
    "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised by wild"
    " yeast and lactic acid bacteria. Feed it daily; bake when it doubles.\n",
    "notes.txt": "Beekeeping notes: a hive needs a queen, workers and drones. Inspect frames"
    " weekly in summer.\n",
    "sub/glacier.rst": "Glaciers\n========\n\nIce sheets carve U-shaped valleys over millennia;"
    " moraines mark where they stopped.\n",
}


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return index_files(tmp_path_factory.mktemp("small"), DOCS)


def search_json(home: Path, capsys, *args: str) -> dict:
    code, out, err = run_cli(["search", *args, "--home", str(home), "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


# -- output -----------------------------------------------------------------------------------


def test_a_full_width_query_means_to_the_encoder_what_its_plain_form_does(
    small_index, capsys
) -> None:
    # An IME's full-width letters are outside the encoder's vocabulary; BM25 reads them in
    # their NFKC form, and the encoder must too.
    _, home = small_index
    plain = search_json(home, capsys, "sourdough starter", "--mode", "dense")
    wide = search_json(home, capsys, "ｓｏｕｒｄｏｕｇｈ ｓｔａｒｔｅｒ", "--mode", "dense")
    assert [(r["path"], r["score"]) for r in wide["results"]] == [
        (r["path"], r["score"]) for r in plain["results"]
    ]
    assert wide["results"][0]["path"].endswith("bread.md")


def test_bm25_search_prints_title_location_and_snippet(small_index, capsys) -> None:
    docs, home = small_index
    data = search_json(home, capsys, "sourdough starter", "--mode", "bm25")
    assert [Path(r["path"]).name for r in data["results"]] == ["bread.md"]
    hit = data["results"][0]
    code, out, err = run_cli(
        ["search", "sourdough starter", "--mode", "bm25", "--home", str(home)], capsys
    )
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"1. Sourdough bread  {hit['score']:.4f}",
        f"   {docs / 'bread.md'}:{hit['start_line']}-{hit['end_line']} › {hit['heading']}",
        f"   {hit['snippet']}",
    ]
    assert "sourdough starter is flour and water" in hit["snippet"]
    spans = [hit["snippet"][a:b].lower() for a, b in hit["highlights"]]
    assert "sourdough" in spans and "starter" in spans


def test_hybrid_json_structure(small_index, capsys) -> None:
    _, home = small_index
    data = search_json(home, capsys, "how do ice sheets shape the land", "-k", "3")
    assert set(data) == {
        "query",
        "mode",
        "fusion",
        "elapsed_ms",
        "weak_match",
        "results",
        "search_id",
    }
    assert data["weak_match"] is False
    assert (data["query"], data["mode"]) == ("how do ice sheets shape the land", "hybrid")
    assert data["fusion"] == load_settings(home).fusion
    assert len(data["results"]) == 3
    first = data["results"][0]
    assert set(first) == {
        "path",
        "title",
        "type",
        "score",
        "heading",
        "page",
        "start_line",
        "end_line",
        "snippet",
        "highlights",
        "chunk_id",
    }
    assert Path(first["path"]).name == "glacier.rst"
    scores = [r["score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)


def test_explain_adds_both_ranks(small_index, capsys) -> None:
    _, home = small_index
    data = search_json(home, capsys, "glaciers carve valleys", "--explain", "-k", "2")
    explain = data["results"][0]["explain"]
    assert set(explain) == {"bm25_rank", "bm25_score", "dense_rank", "dense_score"}
    assert explain["bm25_rank"] == 1 and explain["dense_rank"] == 1
    code, out, _ = run_cli(
        ["search", "glaciers carve valleys", "--explain", "-k", "2", "--home", str(home)], capsys
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[3] == (
        f"   bm25 rank 1 score {explain['bm25_score']:.4f}; dense rank 1 score"
        f" {explain['dense_score']:.4f}; fused {data['results'][0]['score']:.4f}"
    )
    # The second document matched no word: its BM25 side is shown as missing.
    assert lines[7].startswith("   bm25 rank - score -; dense rank 2 score ")


def test_no_results(small_index, capsys) -> None:
    _, home = small_index
    result = run_cli(["search", "zyzzyva", "--mode", "bm25", "--home", str(home)], capsys)
    assert result == (0, "No results.\n", "")


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed quote',
        '"tidal power"',
        "title:bread",
        "path:/etc/passwd",
        "[a TO z]",
        "{1 TO 2}",
        "AND",
        "OR NOT",
        "bread AND NOT yeast",
        "(((",
        "tidal^2",
        "*",
        "-",
        "\\",
        "ice ~ sheets",
        "Gletscher über Täler 氷河 ледник",
        "🙂",
        "x" * 2000,
    ],
)
@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_hostile_queries_never_crash(small_index, capsys, query: str, mode: str) -> None:
    _, home = small_index
    code, out, err = run_cli(["search", query, "--mode", mode, "--home", str(home)], capsys)
    assert code == 0
    assert err in ("", WEAK_MATCH_NOTE + "\n")  # "[a TO z]" matches only function words
    assert out == "No results.\n" or out.startswith("1. ")


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_a_blank_query_is_an_error_in_the_cli_and_finds_nothing_in_the_engine(
    small_index, capsys, query: str
) -> None:
    _, home = small_index
    # `localsearch search "$q"` with $q unset: say so, rather than a calm "No results."
    assert run_cli(["search", query, "--home", str(home)], capsys) == (
        2,
        "",
        'Error: the query is empty — give words to search for: localsearch search "…"\n',
    )
    engine = SearchEngine(load_settings(home))  # the TUI's empty search box
    try:
        assert engine.search(query).hits == []
    finally:
        engine.close()


# -- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--path", "sub/*"], {"glacier.rst"}),
        (["--path", "*.md"], {"tides.md", "bread.md"}),
        (["--type", "rst"], {"glacier.rst"}),
        (["--type", "md,txt"], {"tides.md", "bread.md", "notes.txt"}),
        (["--type", "md", "--type", "rst"], {"tides.md", "bread.md", "glacier.rst"}),
        (["--path", "nowhere/*"], set()),
        # A relative glob starts at a name inside the indexed folder, never mid-name nor in the
        # folders above it (the temporary folder's own names start with "t" and "p").
        (["--path", "t*"], {"tides.md"}),
        (["--path", "ides.md"], set()),
        (["--path", "g*"], {"glacier.rst"}),
        (["--path", "sub"], {"glacier.rst"}),
    ],
)
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_path_and_type_filters(small_index, capsys, args, expected, mode) -> None:
    _, home = small_index
    # A query every document matches a little, so the filter alone decides what comes back.
    data = search_json(home, capsys, "tidal sourdough hive glaciers", "--mode", mode, *args)
    assert {Path(r["path"]).name for r in data["results"]} == expected
    assert "warnings" not in data or not expected


@pytest.mark.parametrize(
    ("args", "warning"),
    [
        (["--path", "*.MD"], "no indexed file matches --path '*.MD'"),
        (["--path", "my notes/*"], "no indexed file matches --path 'my notes/*'"),
        (
            ["--type", "docx", "--type", "markdown"],
            "no indexed file matches --type docx --type markdown (indexed types: md, rst, txt)",
        ),
    ],
)
def test_a_filter_no_file_passes_is_named_not_only_no_results(
    small_index, capsys, args, warning
) -> None:
    _, home = small_index
    assert run_cli(["search", "sourdough", *args, "--home", str(home)], capsys) == (
        0,
        "No results.\n",
        f"Warning: {warning}\n",
    )
    assert search_json(home, capsys, "sourdough", *args)["warnings"] == [warning]
    # A filter some file passes, with a query none of them matches, is a plain "No results."
    code, out, err = run_cli(
        ["search", "zyzzyva", "--mode", "bm25", "--type", "md", "--home", str(home)], capsys
    )
    assert (code, out, err) == (0, "No results.\n", "")


def test_filters_in_memory_match_sqlite_vec(small_index) -> None:
    _, home = small_index
    engine = SearchEngine(load_settings(home))
    try:
        one_shot = engine.search("frozen water", mode="dense", path_glob="*.md")
        engine.warm_up()
        in_memory = engine.search("frozen water", mode="dense", path_glob="*.md")
    finally:
        engine.close()
    assert [h.path for h in in_memory.hits] == [h.path for h in one_shot.hits]
    # float32 dot products summed in another order differ by ~1e-7 (sqlite-vec against numpy).
    assert [h.score for h in in_memory.hits] == pytest.approx(
        [h.score for h in one_shot.hits], abs=1e-5
    )


def test_hybrid_in_memory_matches_sqlite_vec(small_index) -> None:
    _, home = small_index
    engine = SearchEngine(load_settings(home))
    try:
        one_shot = engine.search("tidal energy and bread", mode="hybrid", k=5)
        engine.warm_up()
        in_memory = engine.search("tidal energy and bread", mode="hybrid", k=5)
    finally:
        engine.close()
    assert len(in_memory.hits) > 1
    assert [h.path for h in in_memory.hits] == [h.path for h in one_shot.hits]
    # float32 dot products summed in another order differ by ~1e-7; z-scores scale that up.
    assert [h.score for h in in_memory.hits] == pytest.approx(
        [h.score for h in one_shot.hits], abs=1e-5
    )


def test_a_warm_engine_reads_only_what_changed_after_files_change(tmp_path, monkeypatch) -> None:
    import localsearch.search.engine as engine_module

    docs, home = index_files(tmp_path, DOCS)
    loads: list[int] = []
    real_load = engine_module.load_vector_index

    def counted_load(store, space):  # type: ignore[no-untyped-def]
        loads.append(store.data_version())
        return real_load(store, space)

    monkeypatch.setattr(engine_module, "load_vector_index", counted_load)
    settings = load_settings(home)
    engine = SearchEngine(settings)
    try:
        engine.warm_up()
        assert len(loads) == 1
        (docs / "notes.txt").write_text("Glacier meltwater feeds the valley's rivers.\n")
        (docs / "bread.md").unlink()
        (docs / "ice.md").write_text("# Sea ice\n\nFrozen seawater floats on the ocean.\n")
        index = Index(settings)
        try:
            index.update([docs])
        finally:
            index.close()
        queries = ("frozen water", "sourdough starter", "meltwater rivers")
        warm = [engine.search(q, mode="dense", k=4) for q in queries]
        assert len(loads) == 1  # brought up to date, not loaded again
        fresh = SearchEngine(settings)
        try:
            fresh.warm_up()
            expected = [fresh.search(q, mode="dense", k=4) for q in queries]
        finally:
            fresh.close()
    finally:
        engine.close()
    for got, want in zip(warm, expected, strict=True):
        assert [(h.path, h.chunk_id, h.score) for h in got.hits] == [
            (h.path, h.chunk_id, h.score) for h in want.hits
        ]
    assert not any(h.path.endswith("bread.md") for r in warm for h in r.hits)
    assert warm[2].hits[0].path.endswith("notes.txt")


def test_a_warm_engine_reads_the_store_again_only_after_a_change(tmp_path, monkeypatch) -> None:
    import localsearch.search.engine as engine_module

    docs, home = index_files(tmp_path, DOCS)
    reads: list[str] = []
    real_refresh = engine_module.refresh_vector_index
    real_coverage = engine_module.dense_coverage

    def counted_refresh(*args):  # type: ignore[no-untyped-def]
        reads.append("vectors")
        return real_refresh(*args)

    def counted_coverage(*args):  # type: ignore[no-untyped-def]
        reads.append("coverage")
        return real_coverage(*args)

    monkeypatch.setattr(engine_module, "refresh_vector_index", counted_refresh)
    monkeypatch.setattr(engine_module, "dense_coverage", counted_coverage)
    settings = load_settings(home)
    engine = SearchEngine(settings)
    try:
        engine.warm_up()
        engine.search("frozen water")
        reads.clear()
        for query in ("frozen water", "sourdough starter", "tidal power"):
            engine.search(query)
        assert reads == []  # nothing changed: the look for changes read no table
        chunks_before = engine.dense_coverage().chunks
        (docs / "notes.txt").write_text("Glacier meltwater feeds the valley's rivers.\n")
        (docs / "bread.md").unlink()
        index = Index(settings)
        try:
            index.update([docs])
        finally:
            index.close()
        edited = engine.search("meltwater rivers", k=4)
        assert sorted(reads) == ["coverage", "vectors"]  # the one look saw the change
        deleted = engine.search("sourdough starter", k=4)
        assert sorted(reads) == ["coverage", "vectors"]
        coverage = engine.dense_coverage()
    finally:
        engine.close()
    assert edited.hits[0].path.endswith("notes.txt")
    assert not any(h.path.endswith("bread.md") for h in deleted.hits)
    assert coverage.complete and coverage.chunks < chunks_before  # bread.md's chunks are gone


def test_search_reports_where_its_time_went(small_index) -> None:
    _, home = small_index
    engine = SearchEngine(load_settings(home))
    try:
        hybrid = engine.search("frozen water", mode="hybrid")
        bm25 = engine.search("frozen water", mode="bm25")
    finally:
        engine.close()
    assert set(hybrid.parts_ms) == {"encode", "vectors", "bm25", "fusion", "snippets"}
    assert set(bm25.parts_ms) == {"bm25", "fusion", "snippets"}
    assert all(ms >= 0 for ms in hybrid.parts_ms.values())
    # In hybrid mode BM25 runs beside the query's encoding, so its time overlaps the others'.
    assert sum(ms for part, ms in hybrid.parts_ms.items() if part != "bm25") <= hybrid.elapsed_ms
    assert hybrid.parts_ms["bm25"] <= hybrid.elapsed_ms
    assert sum(bm25.parts_ms.values()) <= bm25.elapsed_ms


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make_home", [False, True])
def test_missing_or_empty_home_gives_the_hint(tmp_path: Path, capsys, make_home: bool) -> None:
    home = tmp_path / "empty-home"
    if make_home:
        home.mkdir()
    result = run_cli(["search", "anything", "--home", str(home)], capsys)
    assert result == (
        1,
        "",
        f"Error: no index in {home} — run `localsearch index PATH` first\n",
    )


def test_bad_k_and_mode(small_index, capsys) -> None:
    _, home = small_index
    assert run_cli(["search", "x", "-k", "0", "--home", str(home)], capsys) == (
        2,
        "",
        "Error: -k must be at least 1\n",
    )
    code, out, err = run_cli(["search", "x", "--mode", "fuzzy", "--home", str(home)], capsys)
    assert (code, out) == (2, "")
    # One line, as every other error (click's own format took four: Usage, Try, blank, Error).
    assert err == (
        "Error: Invalid value for '--mode': 'fuzzy' is not one of 'hybrid', 'bm25', 'dense'."
        " — see `localsearch search --help`\n"
    )


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_a_huge_k_returns_every_document_it_finds(small_index, capsys, mode: str) -> None:
    # 10**23 overflowed SQLite's and tantivy's integers; 2**31 made tantivy abort the process
    # (and with it `serve` or `mcp`), so that one runs in a child.
    _, home = small_index
    data = search_json(home, capsys, "tidal barrage sourdough", "--mode", mode, "-k", str(10**23))
    assert 1 <= len(data["results"]) <= len(DOCS)
    child = subprocess.run(
        [sys.executable, "-m", "localsearch", "search", "tidal", "--mode", "bm25", "--json"]
        + ["-k", str(2**31), "--home", str(home)],
        env={**os.environ, "LOCALSEARCH_SERVER_AUTOSTART": "0"},
        capture_output=True,
        text=True,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert [Path(r["path"]).name for r in json.loads(child.stdout)["results"]] == ["tides.md"]


def test_bm25_search_does_not_import_torch(small_index) -> None:
    _, home = small_index
    printed = search_in_fresh_process(
        home,
        ["sourdough", "--mode", "bm25"],
        loaded=set(),
        not_loaded={"torch", "sentence_transformers"},
    )
    assert printed.startswith("1. Sourdough bread")


# -- fusion, pure -----------------------------------------------------------------------------


def test_ranks_and_rrf() -> None:
    assert ranks_of({"a": 0.2, "b": 0.9, "c": 0.5}) == {"b": 1, "c": 2, "a": 3}
    fused = fuse_rrf({"bm25": ["a", "b"], "dense": ["b", "c"]}, k=60)
    assert fused == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62})
    weighted = fuse_rrf({"bm25": ["a"], "dense": ["b"]}, k=60, weights={"bm25": 2.0})
    assert weighted == pytest.approx({"a": 2 / 61, "b": 1 / 61})


def test_weighted_fusion_normalises_bm25_only() -> None:
    assert normalise_minmax({"a": 10.0, "b": 5.0, "c": 0.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert normalise_minmax({"a": 3.0}) == {"a": 1.0}
    fused = fuse_weighted(
        {"bm25": {"a": 10.0, "b": 0.0}, "dense": {"b": 0.8, "c": 0.4}},
        {"bm25": 0.5, "dense": 0.5},
        normalise={"bm25": True, "dense": False},
    )
    assert fused == pytest.approx({"a": 0.5, "b": 0.4, "c": 0.2})


def test_bm25_reads_the_same_chunk_ids_without_tantivy_s_column_reader(small_index) -> None:
    from localsearch.lexical import LexicalIndex

    class SearcherBefore026:  # tantivy-py before 0.26 has no Searcher.fast_field_values
        def __init__(self, searcher) -> None:  # type: ignore[no-untyped-def]
            self.search, self.doc = searcher.search, searcher.doc
            self.num_docs = searcher.num_docs  # older tantivy-py has it too

    class IndexBefore026:
        def __init__(self, index) -> None:  # type: ignore[no-untyped-def]
            self.index = index
            self.reload, self.parse_query_lenient = index.reload, index.parse_query_lenient

        def searcher(self) -> SearcherBefore026:
            return SearcherBefore026(self.index.searcher())

    _, home = small_index
    lexical = LexicalIndex(load_settings(home).lexical_dir)
    try:
        from_column = lexical.search("tidal energy and sourdough bread", 10)
        lexical._index = IndexBefore026(lexical._open())  # type: ignore[assignment]
        from_documents = lexical.search("tidal energy and sourdough bread", 10)
    finally:
        lexical.close()
    assert len(from_column) >= 2
    assert from_documents == from_column


def test_a_warm_engine_notices_a_bm25_state_rewritten_in_place(tmp_path) -> None:
    """The engine keeps the BM25 state it read until state.json is another file: rewritten in
    place (same inode) with a version behind the database, it must be read again and the
    index brought up to date."""
    tides = "# Tides\n\nTidal power turns the sea into energy."
    _, home = index_files(tmp_path, {"tides.md": tides})
    engine = SearchEngine(load_settings(home))
    try:
        assert [Path(h.path).name for h in engine.search("tidal", mode="bm25").hits] == ["tides.md"]
        state_path = engine.lexical.state_path
        state = json.loads(state_path.read_text())
        in_step = state["version"]
        state["version"] = in_step - 1
        state_path.write_text(json.dumps(state))
        assert engine.lexical.synced_version() == in_step - 1
        assert [Path(h.path).name for h in engine.search("tidal", mode="bm25").hits] == ["tides.md"]
    finally:
        engine.close()
    assert json.loads(state_path.read_text())["version"] == in_step


def test_query_words_are_found_without_a_pattern_as_the_pattern_finds_them() -> None:
    from localsearch.search.snippet import QueryMatcher

    rng = np.random.default_rng(8)
    words = ["Cell", "cells", "cellular", "xcell", "cell_type", "2cell", "cell2", "CELLS", "T-cell"]
    words += ["gene", "Genes", "genetic", "regenerate", "gene-expression", "expressed", "of", "a"]
    # Non-ASCII text: words that run on from a stem, letters before one, length-keeping case.
    words += ["cellé", "écells", "Ωgene", "β-cells", "ÇELLS", "细胞cells", "gène", "–cell"]
    separators = [" ", " ", ", ", ". ", "-", "_", "/", "(", ") ", "\n", "\u00a0", " – "]
    matcher = QueryMatcher("Which cells express genes, cellularly?")
    found_without_pattern = 0
    for _ in range(600):
        count = int(rng.integers(1, 40))
        picked = zip(rng.choice(words, count), rng.choice(separators, count), strict=True)
        text = "".join(word + separator for word, separator in picked)
        expected = matcher._pattern_spans(text)
        assert matcher.spans(text) == expected
        if len(text.lower()) == len(text):
            found_without_pattern += 1
            assert matcher._found_spans(text, text.lower()) == expected
    assert found_without_pattern == 600
    # "İ" lower-cases to two characters: offsets would shift, so the pattern finds the words.
    assert matcher.spans("İ cells") == [(2, 7)]
    assert matcher.spans("T-cell genes of cellular xcell") == [(2, 6), (7, 12), (16, 24)]


def test_a_snippet_window_holds_the_most_distinct_query_words() -> None:
    from localsearch.search.snippet import _best_window, query_matcher, stem

    rng = np.random.default_rng(5)
    vocabulary = ["tide", "tides", "tidal", "power", "sea", "barrage", "cost", "the", "of"]
    for _ in range(100):
        flat = " ".join(rng.choice(vocabulary, size=int(rng.integers(5, 120))))
        matches = query_matcher("tidal power at sea costs").spans(flat)
        width = int(rng.integers(20, 200))
        best_start, best_score = 0, -1  # every window scanned, as the definition says
        for anchor, _ in matches:
            start = max(0, anchor - width // 4)
            inside = [(s, e) for s, e in matches if start <= s and e <= start + width]
            score = len({stem(flat[s:e]) for s, e in inside}) * 100 + len(inside)
            if score > best_score:
                best_start, best_score = start, score
        assert _best_window(flat, matches, width) == best_start


# -- the in-memory dense path -----------------------------------------------------------------


def topic_vectors(count: int, dimension: int = 384, seed: int = 0) -> np.ndarray:
    """Unit vectors that mix a few of 50 topic directions, shaped like text embeddings."""
    rng = np.random.default_rng(seed)
    topics = np.random.default_rng(42).standard_normal((50, dimension)).astype(np.float32)
    offset = 0.5 * np.random.default_rng(43).standard_normal(dimension).astype(np.float32)
    weights = rng.dirichlet(np.full(len(topics), 0.1), count).astype(np.float32)
    noise = 0.05 * rng.standard_normal((count, dimension)).astype(np.float32)
    points = weights @ topics + offset + noise
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_vector_index_exact_and_prefiltered_agree_with_brute_force() -> None:
    matrix = topic_vectors(12_000)
    chunk_ids = np.arange(100, 100 + len(matrix))
    document_ids = chunk_ids // 3
    exact = VectorIndex(chunk_ids, document_ids, matrix, exact_limit=len(matrix))
    approximate = VectorIndex(chunk_ids, document_ids, matrix, exact_limit=1000)
    assert exact.codes is None and approximate.codes is not None
    queries = topic_vectors(30, seed=1)
    recall = []
    for query in queries:
        truth = [int(chunk_ids[i]) for i in np.argsort(-(matrix @ query))[:10]]
        found = exact.search(query, 10)
        assert [c for c, _ in found] == truth
        assert [s for _, s in found] == pytest.approx(sorted(matrix @ query)[::-1][:10], abs=1e-5)
        recall.append(len({c for c, _ in approximate.search(query, 10)} & set(truth)) / 10)
    assert np.mean(recall) >= 0.95


def test_prefiltered_results_carry_each_chunks_exact_cosine() -> None:
    """The rescoring gathers its candidates in blocks (over a thousand here, the last block
    partial): every score must still be its own row's product, in order."""
    matrix = topic_vectors(12_000)
    chunk_ids = np.arange(500, 500 + len(matrix))
    approximate = VectorIndex(chunk_ids, chunk_ids // 3, matrix, exact_limit=1000)
    for query in topic_vectors(10, seed=2):
        found = approximate.search(query, 60)
        assert len(found) == 60
        exact = [float(np.einsum("j,j->", matrix[c - 500], query)) for c, _ in found]
        assert [s for _, s in found] == pytest.approx(exact, abs=1e-6)
        assert exact == sorted(exact, reverse=True)
    # A chunk's own vector finds it first, wherever its row falls among the candidates' blocks.
    for row in (0, 6_000, len(matrix) - 1):
        assert approximate.search(matrix[row], 10)[0][0] == chunk_ids[row]


def test_vector_index_mask_keeps_only_allowed_documents() -> None:
    matrix = topic_vectors(5000)
    chunk_ids = np.arange(len(matrix))
    document_ids = chunk_ids // 5
    for limit in (100_000, 100):
        vectors = VectorIndex(chunk_ids, document_ids, matrix, exact_limit=limit)
        allowed = {7, 99, 500}
        found = vectors.search(matrix[0], 10, vectors.mask_for_documents(sorted(allowed)))
        assert len(found) == 10
        assert {int(document_ids[c]) for c, _ in found} <= allowed
        assert vectors.search(matrix[0], 10, vectors.mask_for_documents([])) == []


def test_vector_index_knows_each_chunks_document() -> None:
    chunk_ids = np.array([40, 7, 19, 3])
    document_ids = np.array([4, 1, -1, 2])  # chunk 19's row was gone when the vectors loaded
    vectors = VectorIndex(chunk_ids, document_ids, topic_vectors(4))
    assert vectors.owners([3, 40, 19, 8, 99, 7]) == {3: 2, 40: 4, 7: 1}
    assert vectors.owners([]) == {}


# -- known-answer floor on real documents ------------------------------------------------------

# (Hit@10, MRR@10) floors a little below what was measured with default settings:
# hybrid 1.000/0.905, dense 1.000/0.912, bm25 1.000/0.775 (21 queries, 49 files, 1555 chunks).
KNOWN_ANSWER_FLOORS = {"hybrid": (0.95, 0.82), "dense": (0.95, 0.82), "bm25": (0.90, 0.68)}


def known_answer_queries(corpus: Path) -> list[tuple[str, str]]:
    return read_known_answers(corpus.parent / "queries" / "opensource-docs.tsv")


@pytest.fixture(scope="module")
def known_answer_home(corpus: Path, request: pytest.FixtureRequest) -> Path:
    """The queries' target files plus every 40th other file of their collections
    (helpers.docs_known_answer_sample), indexed in the background since the session began."""
    return request.config.stash[CORPUS_SAMPLES].home(DOCS_SAMPLE)


@pytest.mark.slow
def test_known_answer_floor(corpus: Path, known_answer_home: Path) -> None:
    queries = known_answer_queries(corpus)
    measured = known_answer_scores(known_answer_home, queries, KNOWN_ANSWER_FLOORS)
    for mode, (hit_floor, mrr_floor) in KNOWN_ANSWER_FLOORS.items():
        hit_at_10, mrr = measured[mode]
        assert hit_at_10 >= hit_floor and mrr >= mrr_floor, measured
