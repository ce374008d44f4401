"""`localsearch eval --history`: the user's own searches, scored for the active model and
another (one with its own vectors, a query-side one sharing the corpus vectors, one with none)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import index_files, run_cli

from localsearch.catalog import resolve_model
from localsearch.config import load_settings
from localsearch.history import SearchHistory
from localsearch.search.engine import SearchEngine
from localsearch.store import Store

BUNDLED = "all-MiniLM-L6-v2"
DOCS = {
    "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised by wild"
    " yeast. Feed it daily; bake when it doubles.\n",
    "bees.txt": "Beekeeping notes: a hive needs a queen, workers and drones. Inspect frames"
    " weekly in summer.\n",
    "glacier.rst": "Glaciers\n========\n\nIce sheets carve U-shaped valleys over millennia;"
    " moraines mark where they stopped.\n",
    "tides.md": "# Tidal power\n\nTurbines turn the rise and fall of the sea into electricity.\n",
}
# (query, file the user wanted, how): two found by their words, one only by meaning.
LOG = [
    ("sourdough starter", "bread.md", "open"),
    ("sourdough starter", "bread.md", "open"),  # the same query again counts once
    ("beekeeping queen", "bees.txt", "open"),
    ("insects making honey together", "bees.txt", "relevant"),
]


def chunk_of(store: Store, name: str) -> int:
    row = store.conn.execute(
        "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.path LIKE ?",
        (f"%/{name}",),
    ).fetchone()
    assert row
    return int(row[0])


def simulate_log(home: Path) -> None:
    settings = load_settings(home)
    engine = SearchEngine(settings)
    store = Store(settings.database_path)
    history = SearchHistory(store)
    try:
        for query, name, action in LOG:
            shown = [h.chunk_id for h in engine.search(query, k=10, mode="bm25").hits]
            search_id = history.record_search(query, "hybrid", shown, "simulated")
            assert search_id is not None
            history.record_action(search_id, chunk_of(store, name), action)
        # Not judged: nothing opened; opened and then marked "not this".
        history.record_search("tidal", "hybrid", [chunk_of(store, "tides.md")], "simulated")
        rejected = history.record_search("ice", "bm25", [], "simulated")
        assert rejected is not None
        history.record_action(rejected, chunk_of(store, "glacier.rst"), "open")
        history.record_action(rejected, chunk_of(store, "glacier.rst"), "not_relevant")
    finally:
        store.close()
        engine.close()


def adapted_copy(home: Path, name: str, card: dict) -> None:
    """An adapted model that is the bundled one under another name (links, not a copy)."""
    settings = load_settings(home)
    source = Path(resolve_model(BUNDLED, settings.models_dir).location)
    folder = settings.models_dir / "adapted" / name
    folder.mkdir(parents=True)
    for item in source.iterdir():
        (folder / item.name).symlink_to(item)
    (folder / "card.json").write_text(json.dumps({"base": BUNDLED, **card}), encoding="utf-8")


def history_json(home: Path, capsys, *args: str) -> dict:
    code, out, err = run_cli(["eval", "--history", "--home", str(home), "--json", *args], capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def logged_home(tmp_path: Path) -> Path:
    _, home = index_files(tmp_path, DOCS)
    simulate_log(home)
    return home


def test_scores_the_active_model_and_one_sharing_or_lacking_vectors(logged_home, capsys) -> None:
    home = logged_home
    data = history_json(home, capsys)
    assert (data["searches"], data["queries"]) == (4, 3)
    [active] = data["models"]
    assert (active["model"], active["active"], active["vectors"]) == (BUNDLED, True, "own")
    # BM25 finds the two by their words at rank 1 and the third not at all.
    assert active["modes"]["bm25"] == {"mrr@10": 0.6667, "hit@10": 0.6667}
    assert active["modes"]["dense"]["hit@10"] == 1.0  # four documents: all in the top 10
    assert 0.0 < active["modes"]["hybrid"]["mrr@10"] <= 1.0

    adapted_copy(home, "mini-query-side", {"query_side": True})
    shared = history_json(home, capsys, "--model", "mini-query-side")["models"][1]
    assert (shared["active"], shared["vectors"]) == (False, f"shared with {BUNDLED}")
    assert shared["modes"] == active["modes"]  # the same weights: the same ranking

    adapted_copy(home, "mini-elsewhere", {})
    lacking = history_json(home, capsys, "--model", "mini-elsewhere")["models"][1]
    assert lacking["vectors"] == "none"
    assert lacking["note"] == "mini-elsewhere has no vectors in this index: only BM25 is scored"
    assert lacking["modes"] == {"bm25": active["modes"]["bm25"]}

    code, out, err = run_cli(
        ["eval", "--history", "--home", str(home), "-q", "--model", "mini-elsewhere"], capsys
    )
    assert code == 0 and err == ""
    assert "Your searches: 3 queries with a result you opened or marked (4 searches)" in out
    assert out.splitlines()[-1] == (
        "Note: mini-elsewhere has no vectors in this index: only BM25 is scored."
    )


@pytest.mark.slow
def test_compares_with_the_previous_model_by_default(logged_home, capsys) -> None:
    home = logged_home
    adapted_copy(home, "mini-copy", {})
    assert run_cli(["models", "use", "mini-copy", "--home", str(home), "-q"], capsys)[0] == 0
    data = history_json(home, capsys)
    now, before = data["models"]
    assert (now["model"], now["active"], now["vectors"]) == ("mini-copy", True, "own")
    assert (before["model"], before["active"], before["vectors"]) == (BUNDLED, False, "own")
    assert before["modes"] == now["modes"]
    # After a rollback the model rolled back from is the one before: it was "no other model".
    assert run_cli(["models", "rollback", "--home", str(home), "-q"], capsys)[0] == 0
    now, before = history_json(home, capsys)["models"]
    assert (now["model"], now["active"], before["model"]) == (BUNDLED, True, "mini-copy")


def test_queries_an_adapted_model_trained_on_are_left_out(logged_home, capsys) -> None:
    # Scored on its own training queries an adapted model gained 16 points it had learnt by
    # heart; the gate's held-out searches gave it 2.
    home = logged_home
    adapted_copy(home, "mini-trained", {"history": {"trained_queries": ["sourdough  Starter"]}})
    data = history_json(home, capsys, "--model", "mini-trained")
    assert (data["queries"], data["left_out"]) == (2, {"mini-trained": 1})
    all_three = history_json(home, capsys)
    assert (all_three["queries"], all_three["left_out"]) == (3, {})
    code, out, err = run_cli(
        ["eval", "--history", "--home", str(home), "-q", "--model", "mini-trained"], capsys
    )
    assert code == 0, err
    assert "Your searches: 2 queries with a result you opened or marked" in out
    assert "Left out: 1 query that mini-trained was trained on (it would flatter it)." in out


def test_trained_queries_are_kept_as_digests_and_clearing_the_history_forgets_old_ones(
    logged_home, capsys
) -> None:
    """A card (and adapt's run log) listed every query a model trained on in plain text, so
    `history --clear` left the user's searches readable in models/adapted/. Digests serve
    `eval --history` as well; clearing the history turns old plain lists into digests."""
    from localsearch.adapt.from_history import query_digest
    from localsearch.adapt.models import RUN_LOG_NAME

    home = logged_home
    adapted_copy(
        home,
        "mini-digests",
        {"history": {"trained_query_digests": [query_digest("sourdough starter")]}},
    )
    data = history_json(home, capsys, "--model", "mini-digests")
    assert (data["queries"], data["left_out"]) == (2, {"mini-digests": 1})

    adapted_copy(home, "mini-plain", {"history": {"trained_queries": ["sourdough starter"]}})
    run_log = load_settings(home).models_dir / "adapted" / RUN_LOG_NAME
    run_log.write_text(
        json.dumps({"name": "mini-gone", "history": {"trained_queries": ["sourdough starter"]}})
        + "\n[1, 2]\n",  # a line that is not a record is kept as it is
        encoding="utf-8",
    )
    assert run_cli(["history", "--clear", "--yes", "--home", str(home)], capsys)[0] == 0
    adapted = load_settings(home).models_dir / "adapted"
    for path in (adapted / "mini-plain" / "card.json", run_log):
        text = path.read_text(encoding="utf-8")
        assert "sourdough" not in text, path
        assert query_digest("sourdough starter") in text, path


def test_errors(logged_home, tmp_path, capsys) -> None:
    assert run_cli(["eval", "-q"], capsys) == (
        2,
        "",
        "Error: give a DATASET_DIR (a BEIR folder), or --history to score your own searches\n",
    )
    assert run_cli(["eval", str(tmp_path), "--history", "-q"], capsys) == (
        2,
        "",
        "Error: give a DATASET_DIR or --history, not both\n",
    )
    code, _, err = run_cli(
        ["eval", "--history", "--home", str(logged_home), "-q", "--model", "no-such-model"], capsys
    )
    assert code == 1 and err.startswith("Error: unknown model 'no-such-model'")
    assert run_cli(["history", "--clear", "--home", str(logged_home)], capsys)[0] == 0
    assert run_cli(["eval", "--history", "--home", str(logged_home), "-q"], capsys) == (
        1,
        "",
        "Error: no logged search has a result you opened or marked — search, open what you were"
        " looking for (or `localsearch feedback N --good`), then run this again\n",
    )


def test_a_filtered_search_is_replayed_with_its_filters(tmp_path: Path) -> None:
    from localsearch.evaluate.history import judged_queries, score

    _, home = index_files(tmp_path, DOCS)
    settings = load_settings(home)
    engine = SearchEngine(settings)
    store = Store(settings.database_path)
    try:
        history = SearchHistory(store)
        # Among .txt files only, the beekeeping notes are the one result; unfiltered, the
        # bread page beats them for this query.
        filtered = engine.search("sourdough starter", k=10, mode="bm25", doc_types=("txt",))
        assert (filtered.path_glob, filtered.doc_types) == (None, ("txt",))
        search_id = history.record_search(
            "sourdough starter",
            "hybrid",
            [h.chunk_id for h in filtered.hits],
            "simulated",
            doc_types=filtered.doc_types,
        )
        assert search_id is not None
        history.record_action(search_id, chunk_of(store, "bees.txt"), "open")
        history.record_search("sourdough starter", "hybrid", [], "simulated", path_glob="*.md")

        [logged, _] = history.searches()[::-1]
        assert (logged.path_glob, logged.doc_types) == (None, ("txt",))
        [judged], used = judged_queries(history.searches(), store)
        assert (judged.query, judged.doc_types, used) == ("sourdough starter", ("txt",), 1)
        assert score(engine, [judged], "dense") == (1.0, 1.0)
        unfiltered = type(judged)(judged.query, judged.documents)
        assert score(engine, [unfiltered], "dense")[0] < 1.0
    finally:
        store.close()
        engine.close()


def test_each_row_is_scored_with_its_own_model(logged_home) -> None:
    """A query-side model that ranks backwards: its row must show it, not the active model's."""
    from localsearch.embed.sentence_transformer import load_encoder
    from localsearch.evaluate.history import evaluate_history

    adapted_copy(logged_home, "mini-backwards", {"query_side": True})
    settings = load_settings(logged_home)
    bundled = load_encoder(BUNDLED, settings.models_dir)

    class Backwards:
        name, location, dimension = "mini-backwards", bundled.location, bundled.dimension
        fingerprint = bundled.fingerprint

        def encode_queries(self, texts):
            return -bundled.encode_queries(texts)

        def encode_passages(self, texts, on_progress=None):
            return bundled.encode_passages(texts, on_progress)

    report = evaluate_history(
        settings,
        other_model="mini-backwards",
        load_encoder=lambda name: Backwards() if name == "mini-backwards" else bundled,
    )
    active, backwards = report.models
    assert backwards.vectors == f"shared with {BUNDLED}"
    assert active.modes["dense"][0] > 0.6
    # Each wanted document is the nearest to its query, so the farthest when reversed: the
    # last of four, and MRR@10 a quarter.
    assert backwards.modes["dense"][0] == pytest.approx(0.25)
    assert backwards.modes["bm25"] == active.modes["bm25"]


def test_clearing_the_history_says_when_the_active_model_learnt_from_it(
    logged_home, capsys
) -> None:
    # The searches were gone, but the active model kept what it learnt from them, unsaid.
    from localsearch.adapt.from_history import query_digest

    home = logged_home
    taught = {"history": {"trained_query_digests": [query_digest("sourdough starter")]}}
    adapted_copy(home, "mini-taught", taught)
    adapted_copy(home, "mini-on-top", {})
    card = load_settings(home).models_dir / "adapted" / "mini-on-top" / "card.json"
    card.write_text(json.dumps({"base": "mini-taught"}), encoding="utf-8")
    assert run_cli(["models", "use", "mini-on-top", "--home", str(home)], capsys)[0] == 0
    code, out, err = run_cli(["history", "--clear", "--yes", "--home", str(home)], capsys)
    assert code == 0, err
    assert out.splitlines()[1:] == [
        "The active model, mini-on-top, was adapted from searches in it and keeps what it"
        f" learnt; `localsearch models use {BUNDLED}` goes back to a model that did not learn"
        " from them.",
    ]
    assert run_cli(["models", "use", BUNDLED, "--home", str(home)], capsys)[0] == 0
    simulate_log(home)
    code, out, _ = run_cli(["history", "--clear", "--yes", "--home", str(home)], capsys)
    assert (code, len(out.splitlines())) == (0, 1), out


def test_an_interrupted_history_eval_says_nothing_was_written(logged_home, monkeypatch, capsys):
    # It said "Everything committed so far is kept and searchable; run the command again to
    # finish", as an interrupted index does, though scoring writes nothing.
    import localsearch.evaluate.history as history_eval

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(history_eval, "evaluate_history", interrupted)
    assert run_cli(["eval", "--history", "-q", "--home", str(logged_home)], capsys) == (
        130,
        "",
        "Interrupted; nothing was written.\n",
    )


def test_a_model_folder_is_named_as_models_use_keeps_it(logged_home, tmp_path, monkeypatch, capsys):
    # `eval --history --model ./mine` after `models use ./mine` said "./mine has no vectors in
    # this index": the index keeps the folder by its absolute path. A folder that is no model
    # was scored as one without vectors rather than refused.
    home = logged_home
    source = Path(resolve_model(BUNDLED, load_settings(home).models_dir).location)
    mine = tmp_path / "mine"
    mine.mkdir()
    for item in source.iterdir():
        (mine / item.name).symlink_to(item)
    monkeypatch.chdir(tmp_path)
    assert run_cli(["models", "use", "./mine", "--home", str(home), "-q"], capsys)[0] == 0
    assert run_cli(["models", "rollback", "--home", str(home), "-q"], capsys)[0] == 0
    active, other = history_json(home, capsys, "--model", "./mine")["models"]
    assert (other["model"], other["vectors"]) == (str(mine), "own")
    assert other["modes"] == active["modes"]

    active_again = ["eval", "--history", "--home", str(home), "-q", "--model", BUNDLED]
    code, out, err = run_cli(active_again, capsys)
    assert code == 0, err
    assert out.splitlines()[-1] == (
        f"{BUNDLED} is the active model: give --model another one to compare with (see"
        " `localsearch models`)."
    )
    (tmp_path / "notes").mkdir()
    folder = ["eval", "--history", "--home", str(home), "-q", "--model", "notes"]
    assert run_cli(folder, capsys) == (
        1,
        "",
        "Error: notes is not a model folder: it has no config.json — give the folder that holds"
        " the model's config.json\n",
    )
