"""adapt learning from use: pairs from the search log, the split by query, the line saying what
judged, and the query-side-only model that keeps the corpus vectors."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import active_model, index_files
from test_adapt import FAST, corpus_files, force_gate, judged_on_few  # noqa: F401 (autouse)

from localsearch.adapt import AdaptOptions, adapt
from localsearch.adapt.from_history import (
    MIN_JUDGED_SEARCHES,
    pairs_from_searches,
    query_digest,
    split_history,
)
from localsearch.config import load_settings
from localsearch.store import Store
from localsearch.store.vector_reads import vector_matrix


@dataclass(frozen=True)
class Logged:
    """Shaped like history.LoggedSearch, so these tests need only the adapt side."""

    query: str
    shown: tuple[int, ...]
    opened: tuple[int, ...] = ()
    relevant: tuple[int, ...] = ()
    not_relevant: tuple[int, ...] = ()
    at: float = 0.0
    id: int = 0
    mode: str = "hybrid"
    source: str = "simulated"


def test_pairs_from_searches_merge_repeats_and_respect_marks():
    searches = [
        Logged("Sourdough  starter", shown=(5, 6, 7, 8), opened=(7,), at=1),
        Logged("sourdough starter", shown=(5, 7), relevant=(5,), at=2),
        Logged("telescope", shown=(1, 2, 3), opened=(3,), not_relevant=(1,), at=3),
        Logged("chess", shown=(9, 10), at=4),  # nothing opened: teaches nothing
        Logged("knots", shown=(11,), opened=(11,), not_relevant=(11,), at=5),  # changed mind
    ]
    pairs = {p.query: p for p in pairs_from_searches(searches)}
    assert set(pairs) == {"Sourdough  starter", "telescope"}
    sourdough = pairs["Sourdough  starter"]
    assert sourdough.positives == (7, 5)
    assert sourdough.skipped == (6,)  # 5 was skipped once, then marked "this is it"
    telescope = pairs["telescope"]
    assert (telescope.positives, telescope.skipped, telescope.rejected) == ((3,), (2,), (1,))


def test_history_below_the_threshold_is_not_held_out():
    few = [Logged(f"query {i}", shown=(i,), opened=(i,), at=i) for i in range(12)]
    split = split_history(few)
    assert not split.judges and len(split.training) == 12
    assert split.judged_on() == (
        "judged on synthetic queries: you have only 12 searches with an opened result;"
        f" the log needs at least {MIN_JUDGED_SEARCHES}"
    )
    assert split_history([]).judged_on() == (
        "judged on synthetic queries: your search log has no opened results yet"
    )


def test_history_is_split_by_query():
    searches = [
        Logged(f"question {i % 60}", shown=(i % 60,), opened=(i % 60,), at=i) for i in range(120)
    ]
    split = split_history(searches)
    assert split.usable == 60 and split.judges
    assert len(split.held_out) == 15 and len(split.training) == 45
    held = {p.query for p in split.held_out}
    assert held.isdisjoint(p.query for p in split.training)
    assert split.judged_on() == "judged on 15 of your searches held out"
    assert split_history(list(reversed(searches))).held_out == split.held_out  # stable


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, home = index_files(tmp_path_factory.mktemp("from-use"), corpus_files())
    return home


@pytest.fixture
def home_settings(indexed_home: Path, isolated_home: Path):
    shutil.copytree(indexed_home, isolated_home)
    return load_settings(isolated_home)


def sorted_vectors(store: Store, model: str) -> np.ndarray:
    space = next(s for s in store.spaces() if s.model == model)
    ids, matrix = vector_matrix(store, space)
    return matrix[np.argsort(ids)]


@pytest.mark.slow
def test_query_side_model_keeps_the_corpus_vectors(home_settings, monkeypatch):
    from localsearch.adapt.models import switch_model
    from localsearch.embed.sentence_transformer import load_encoder
    from localsearch.search import SearchEngine

    settings = home_settings
    force_gate(monkeypatch, keep=True)
    events = []
    result = adapt(settings, AdaptOptions(query_side=True, **FAST), progress=events.append)
    assert result.kept and result.query_side and result.model == "all-MiniLM-L6-v2-adapted-1"
    assert result.training is not None and result.training.steps == 2
    assert active_model(settings) == result.model
    assert result.card["query_side"] is True and result.card["base"] == "all-MiniLM-L6-v2"
    assert any(e.detail == "keeping the corpus vectors" for e in events)

    store = Store(settings.database_path)
    try:
        old = sorted_vectors(store, "all-MiniLM-L6-v2")
        new = sorted_vectors(store, result.model)
        passages = [c.text for c in store.iter_chunks()][:4]
    finally:
        store.close()
    assert np.array_equal(old, new)  # copied, not re-embedded
    base = load_encoder("all-MiniLM-L6-v2", settings.models_dir, device="cpu")
    adapted = load_encoder(result.model, settings.models_dir, device="cpu")
    assert adapted.routed and not base.routed
    assert np.allclose(adapted.encode_passages(passages), base.encode_passages(passages))
    query = ["how do I keep a starter alive"]
    assert float(np.abs(adapted.encode_queries(query) - base.encode_queries(query)).max()) > 1e-4

    engine = SearchEngine(settings)
    try:
        assert engine.search("sourdough starter", mode="dense").hits[0].path.endswith("bread.md")
    finally:
        engine.close()
    back = switch_model(settings, "", rollback=True)
    assert (back.model, back.embedded) == ("all-MiniLM-L6-v2", 0)
    assert active_model(settings) == "all-MiniLM-L6-v2"


def log_searches(settings, count: int) -> list[str]:
    """Search `count` distinct phrases from the corpus's chunks and open the chunk each came
    from; returns the queries."""
    from localsearch.history import SearchHistory
    from localsearch.search import SearchEngine

    engine = SearchEngine(settings)
    queries: list[str] = []
    try:
        history = SearchHistory(engine.store)
        chunks = sorted(engine.store.iter_chunks(), key=lambda c: c.id)
        for offset in range(0, 60, 5):
            for chunk in chunks:
                words = chunk.text.split()[offset : offset + 6]
                query = " ".join(words)
                if len(queries) == count or len(words) < 3 or query in queries:
                    continue
                hits = engine.search(query, k=10, snippets=False).hits
                search_id = history.record_search(
                    query, "hybrid", [h.chunk_id for h in hits], "simulated"
                )
                assert search_id is not None
                history.record_action(search_id, chunk.id, "open")
                queries.append(query)
    finally:
        engine.close()
    assert len(queries) == count
    return queries


@pytest.mark.slow
def test_adapt_trains_on_the_log_and_judges_on_held_out_searches(home_settings, monkeypatch):
    from localsearch.adapt import pipeline as pipeline_module
    from localsearch.adapt import training_plan

    settings = home_settings
    queries = log_searches(settings, 48)
    assert len(set(queries)) == 48
    judged: list[str] = []
    trained: list[str] = []
    real_gate, real_train = pipeline_module.run_gate, training_plan.train_query_tower

    def recording_gate(held_out, **kwargs):
        judged.extend(text for text, _ in held_out)
        return real_gate(held_out, **kwargs)

    def recording_train(location, pairs, *args, **kwargs):
        trained.extend(p.query for p in pairs if p.weight == 1.0)
        return real_train(location, pairs, *args, **kwargs)

    monkeypatch.setattr(pipeline_module, "run_gate", recording_gate)
    monkeypatch.setattr(training_plan, "train_query_tower", recording_train)
    result = adapt(settings, AdaptOptions(**FAST))

    assert result.query_side  # the default once the log has opened results
    assert result.judged_on == "judged on 12 of your searches held out"
    assert result.history_pairs == 36 and result.held_out_queries == 12
    assert len(judged) == 12 and set(judged) <= set(queries)
    assert set(trained) == set(queries) - set(judged)
    history = dict(result.card["history"])
    # Listed so that `eval --history` leaves them out: scored on them the model flatters itself.
    # As digests: the card must not keep the user's searches readable after `history --clear`.
    assert sorted(history.pop("trained_query_digests")) == sorted(
        {query_digest(q) for q in trained}
    )
    assert history == {
        "searches": 48, "with_opened_result": 48, "trained_on": 36, "held_out": 12
    }  # fmt: skip


@pytest.mark.slow
def test_a_short_log_falls_back_to_synthetic_queries(home_settings, monkeypatch, capsys):
    from helpers import run_cli

    settings = home_settings
    log_searches(settings, 5)
    force_gate(monkeypatch, keep=False)
    code, out, err = run_cli("adapt -q --batch-size 8 --max-steps 2 --device cpu".split(), capsys)
    assert code == 0, err
    assert (
        "Judged on synthetic queries: you have only 5 searches with an opened result; the log"
        f" needs at least {MIN_JUDGED_SEARCHES}." in err
    )
    assert "Held-out pseudo-queries" in out
    assert "Trained the query side on" in err and "(5 from your searches, the rest from" in err
    assert active_model(settings) == "all-MiniLM-L6-v2"
    # Said before the training too, rather than only once its minutes are spent.
    up_front = "This run will be judged on synthetic queries: you have only 5 searches"
    assert up_front in err and err.index(up_front) < err.index("Trained the query side on")
    # And what it learns from, before the minutes of training rather than only after them.
    learns = "It will train the query side on "
    assert learns in err and err.index(learns) < err.index("Trained the query side on")
    said_before = err[err.index(learns) :].splitlines()[0]
    said_after = err[err.index("Trained the query side on") :].splitlines()[0]
    assert said_before.removeprefix("It will train ").rstrip(".") in said_after


@pytest.mark.slow
def test_no_history_says_the_log_was_left_out_not_that_it_is_empty(
    home_settings, monkeypatch, capsys
):
    """`adapt --no-history` with a log of opened results said "your search log has no opened
    results yet"."""
    from helpers import run_cli

    log_searches(home_settings, 5)
    force_gate(monkeypatch, keep=False)
    quick = "adapt -q --batch-size 8 --max-steps 1 --device cpu --no-history".split()
    code, _, err = run_cli(quick, capsys)
    assert code == 0, err
    assert "Judged on synthetic queries: --no-history leaves your search log out." in err
    assert "no opened results" not in err


@pytest.mark.slow
def test_mining_options_take_the_whole_model_and_a_missing_reranker_fails_first(
    home_settings, monkeypatch, capsys
):
    from helpers import run_cli

    log_searches(home_settings, 5)  # with a log, the query side would be the default
    force_gate(monkeypatch, keep=False)
    quick = "adapt -q --batch-size 8 --max-steps 1 --device cpu".split()
    code, _, err = run_cli([*quick, "--query-side", "--hard-negatives", "1"], capsys)
    assert code == 2 and err.startswith("Error: --reranker and --hard-negatives filter mined")
    code, _, err = run_cli([*quick, "--reranker", "no-such/cross-encoder"], capsys)
    assert (code, err) == (
        1,
        "Error: model 'no-such/cross-encoder' is not on this machine — run `localsearch models"
        " pull no-such/cross-encoder` once with network\n",
    )
    code, _, err = run_cli([*quick, "--hard-negatives", "1"], capsys)
    assert code == 0, err
    assert "Trained the whole model on" in err


class TrainingInputs(Exception):
    """Raised by a recording trainer once it has seen what it was given."""


@pytest.mark.slow
@pytest.mark.parametrize("query_side", [True, False])
def test_adapt_trains_with_the_models_prefixes(home_settings, monkeypatch, query_side):
    """An E5-style model reads "query: ..." and "passage: ..."; adapt must train it so."""
    from dataclasses import replace

    from localsearch import catalog
    from localsearch.adapt import training_plan

    settings = home_settings
    log_searches(settings, 6)
    bundled = catalog.find_entry("all-MiniLM-L6-v2")
    assert bundled is not None and not bundled.query_prefix
    prefixed = replace(bundled, query_prefix="query: ", passage_prefix="passage: ")
    real_find = catalog.find_entry
    monkeypatch.setattr(
        catalog, "find_entry", lambda ref: prefixed if ref == bundled.name else real_find(ref)
    )
    seen: list[tuple[str, str]] = []

    def record_tower(location, pairs, *args, **kwargs):
        seen.extend((p.query, "passage: stored vectors") for p in pairs)
        raise TrainingInputs

    def record_whole(location, examples, *args, **kwargs):
        seen.extend((e.query, e.positive) for e in examples)
        raise TrainingInputs

    monkeypatch.setattr(training_plan, "train_query_tower", record_tower)
    monkeypatch.setattr(training_plan, "train_bi_encoder", record_whole)
    with pytest.raises(TrainingInputs):
        adapt(settings, AdaptOptions(query_side=query_side, **FAST))
    assert seen
    assert all(q.startswith("query: ") and not q.startswith("query: query: ") for q, _ in seen)
    assert all(p.startswith("passage: ") for _, p in seen)
    assert active_model(settings) == "all-MiniLM-L6-v2"


def test_the_training_bar_ends_where_the_time_budget_stops_it(tmp_path, monkeypatch):
    """On two cores the bar said 26 minutes left for training that its 8-minute budget stopped
    at step 42 of 148: its total is the step the budget will stop at, at the pace so far."""
    from localsearch.adapt import query_tower
    from localsearch.adapt.negatives import CorpusView
    from localsearch.adapt.query_tower import QueryPair, QueryTowerOptions, train_query_tower
    from localsearch.catalog import resolve_model

    class Clock:  # a second passes at every look, so a step takes one
        now = 0.0

        def monotonic(self) -> float:
            self.now += 1.0
            return self.now

    monkeypatch.setattr(query_tower, "time", Clock())
    vectors = np.random.default_rng(0).standard_normal((10, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    corpus = CorpusView(np.arange(10, dtype=np.int64), vectors, {i: i for i in range(10)})
    pairs = [QueryPair(f"question number {i}", i) for i in range(10)]
    options = QueryTowerOptions(batch_size=2, max_steps=20, time_budget_s=5.0, device="cpu")
    location = resolve_model("all-MiniLM-L6-v2", tmp_path).location
    events = []
    report = train_query_tower(location, pairs, corpus, tmp_path / "out", options, events.append)
    assert (report.steps, report.planned_steps, report.stopped_early) == (5, 20, True)
    assert [(e.completed, e.total) for e in events] == [(0, 20)] + [(n, 5) for n in range(1, 6)]
