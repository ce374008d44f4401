"""`localsearch eval`: BEIR loading, the measures, the CLI, and quality floors on SciFact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from background_eval import SCIFACT_EVALUATION
from helpers import run_cli

from localsearch.errors import DatasetError
from localsearch.evaluate import evaluate, evaluate_rankings, load_dataset

TINY_CORPUS = [
    {"_id": "d1", "title": "Tidal energy", "text": "Tides turn turbines in estuaries."},
    {"_id": "d2", "title": "Sourdough", "text": "A starter of flour and water leavens bread."},
    {"_id": "d3", "title": "Glaciers", "text": "Ice sheets carve valleys over millennia."},
    {"_id": "d4", "title": "Beekeeping", "text": "Hives need a queen, workers and drones."},
]
TINY_QUERIES = [
    {"_id": "q1", "text": "bread starter flour"},
    {"_id": "q2", "text": "ice carving valleys"},
    {"_id": "q3", "text": "an unjudged query"},
]


def write_beir(root: Path, *, corpus=None, queries=None, qrels: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    lines = [json.dumps(r) for r in (TINY_CORPUS if corpus is None else corpus)]
    (root / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [json.dumps(r) for r in (TINY_QUERIES if queries is None else queries)]
    (root / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if qrels is None:
        qrels = "query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n"
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    return root


# -- measures --------------------------------------------------------------------------------


def test_measures_on_a_hand_checked_case() -> None:
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {"d": 1}}
    rankings = {"q1": ["x", "a", "y", "b"], "q2": ["c"], "q3": []}
    scores = evaluate_rankings(qrels, rankings)
    # q1: DCG = 1/log2(3) + 1/log2(5), IDCG = 1 + 1/log2(3); q2 perfect; q3 found nothing.
    ndcg_q1 = (1 / 1.5849625 + 1 / 2.3219281) / (1 + 1 / 1.5849625)
    assert scores["ndcg@10"] == pytest.approx((ndcg_q1 + 1.0 + 0.0) / 3, abs=1e-6)
    assert scores["recall@100"] == pytest.approx((1.0 + 1.0 + 0.0) / 3)
    assert scores["mrr@10"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_mrr_counts_only_the_first_ten() -> None:
    ranking = [f"x{i}" for i in range(10)] + ["a"]
    scores = evaluate_rankings({"q": {"a": 1}}, {"q": ranking})
    assert scores["mrr@10"] == 0.0
    assert scores["recall@100"] == 1.0


def test_order_is_ours_not_trec_evals_tie_breaking() -> None:
    # trec_eval breaks score ties by document id; our rankings must be taken as given.
    scores = evaluate_rankings({"q": {"a": 1}}, {"q": ["z", "a"]})
    assert scores["mrr@10"] == 0.5


def test_the_eval_library_imports_no_front_end_and_no_torch() -> None:
    import subprocess
    import sys

    script = (
        "import sys, localsearch.evaluate, localsearch.search.engine\n"
        "heavy = {'click', 'rich', 'textual', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- loading ---------------------------------------------------------------------------------


def test_load_dataset_keeps_judged_queries(tmp_path: Path, monkeypatch) -> None:
    dataset = load_dataset(write_beir(tmp_path / "tiny"))
    assert dataset.name == "tiny"
    monkeypatch.chdir(tmp_path / "tiny")
    assert load_dataset(".").name == "tiny"  # it was ""
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):  # a BOM, as Excel writes
        path = tmp_path / "tiny" / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    dataset = load_dataset(tmp_path / "tiny")
    assert dataset.queries == {"q1": "bread starter flour", "q2": "ice carving valleys"}
    assert dataset.qrels == {"q1": {"d2": 1}, "q2": {"d3": 1}}
    assert [r.id for r in dataset.corpus()] == ["d1", "d2", "d3", "d4"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda root: (root / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{oops\n'),
            "{root}/corpus.jsonl:2: invalid JSON (Expecting property name enclosed in double"
            " quotes)",
        ),
        (
            lambda root: (root / "corpus.jsonl").write_text('{"_id": "a"}\n'),
            "{root}/corpus.jsonl:1: missing 'text'",
        ),
        (
            lambda root: (root / "corpus.jsonl").write_text(
                '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n'
            ),
            "{root}/corpus.jsonl:2: duplicate _id 'a'",
        ),
        (
            lambda root: (root / "queries.jsonl").write_text('["not", "an", "object"]\n'),
            "{root}/queries.jsonl:1: expected a JSON object",
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").write_text(
                "query-id\tcorpus-id\tscore\nq1 d2 1\n"
            ),
            "{root}/qrels/test.tsv:2: expected 3 tab-separated columns (query-id, corpus-id,"
            " score), found 1",
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").write_text("q1\td2\tvery\n"),
            "{root}/qrels/test.tsv:1: score 'very' is not a number",
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").write_text("q1\td2\tinf\n"),
            "{root}/qrels/test.tsv:1: score 'inf' is not a number",  # was "internal error"
        ),
        (
            lambda root: (root / "corpus.jsonl").write_text("[" * 100_000 + "\n"),
            "{root}/corpus.jsonl:1: invalid JSON (nested too deeply)",  # was "internal error"
        ),
        (
            lambda root: (root / "queries.jsonl").write_text(
                '{"_id": "q1", "text": "bread"}\n{"_id": "q1", "text": "ice"}\n'
            ),
            "{root}/queries.jsonl:2: duplicate _id 'q1'",  # the second replaced the first
        ),
        (
            lambda root: [
                (root / "qrels" / "test.tsv").unlink(),
                (root / "qrels" / "test.tsv").mkdir(),
            ],
            "{root}/qrels/test.tsv is a folder, not a file",  # "missing (splits here: test)"
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").write_text("q9\td2\t1\n"),
            "{root}/qrels/test.tsv: query id 'q9' is not in queries.jsonl",
        ),
        (
            lambda root: (root / "queries.jsonl").unlink(),
            "{root}/queries.jsonl is missing (a BEIR folder has corpus.jsonl, queries.jsonl and"
            " qrels/)",
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").rename(root / "qrels" / "dev.tsv"),
            "{root}/qrels/test.tsv is missing (splits here: dev)",
        ),
        # Each of these scored every metric 0 with exit 0.
        (
            lambda root: (root / "corpus.jsonl").write_text("\n"),
            "{root}/corpus.jsonl has no documents",
        ),
        (
            lambda root: (root / "queries.jsonl").write_text(
                '{"_id": "q1", "text": " "}\n{"_id": "q2", "text": ""}\n'
            ),
            "{root}/queries.jsonl: query 'q1' has no text (1 more)",
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").write_text("q1\td2\t0\nq2\td3\t0\n"),
            "{root}/qrels/test.tsv: no judgement marks a document relevant (score > 0)",
        ),
    ],
)
def test_malformed_datasets_name_file_and_line(tmp_path: Path, damage, message: str) -> None:
    root = write_beir(tmp_path / "bad")
    damage(root)
    with pytest.raises(DatasetError) as caught:
        load_dataset(root)
        list(load_dataset(root).corpus())
    assert str(caught.value) == message.format(root=root)


# -- the runner and the CLI on a tiny dataset -------------------------------------------------


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("tiny-eval")
    dataset = write_beir(base / "tiny")
    home = base / "home"
    evaluate(dataset, home=home, modes=["bm25"])
    return dataset, home


def test_eval_json_on_a_tiny_dataset(tiny_home, capsys) -> None:
    dataset, home = tiny_home
    code, out, err = run_cli(
        ["eval", str(dataset), "--home", str(home), "--json", "-q", "--modes", "bm25,dense,hybrid"],
        capsys,
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["dataset"] == "tiny"
    assert report["index_reused"] is True
    assert report["documents"] == 4
    assert report["queries"] == 2
    assert set(report["modes"]) == {"bm25", "dense", "hybrid"}
    for name in ("bm25", "hybrid"):
        scores = report["modes"][name]
        assert (scores["ndcg@10"], scores["recall@100"], scores["mrr@10"]) == (1.0, 1.0, 1.0)
    assert report["modes"]["hybrid"]["fusion"] in {"rrf", "weighted", "zscore"}


def test_eval_table_on_a_tiny_dataset(tiny_home, capsys) -> None:
    dataset, home = tiny_home
    code, out, err = run_cli(
        ["eval", str(dataset), "--home", str(home), "-q", "--modes", "bm25"], capsys
    )
    assert code == 0, err
    assert err == "Reused the index of 4 documents (4 chunks) in 0.0s.\n"
    lines = out.splitlines()
    assert "tiny (test, 2 queries, all-MiniLM-L6-v2)" in lines[0]
    row = next(line for line in lines if "bm25" in line)
    assert row.split("│")[1:5] == [" bm25 ", "  1.0000 ", "     1.0000 ", " 1.0000 "]


def test_eval_takes_the_home_given_before_the_command_too(tiny_home, capsys) -> None:
    # `localsearch --home H eval D` built a throwaway index in a temporary folder instead.
    dataset, home = tiny_home
    code, out, err = run_cli(["--home", str(home), "eval", str(dataset), "--json", "-q"], capsys)
    assert code == 0, err
    assert json.loads(out)["index_reused"] is True


def test_eval_rebuilds_when_the_model_changes_and_refuses_foreign_homes(
    tmp_path: Path, capsys
) -> None:
    dataset = write_beir(tmp_path / "tiny")
    home = tmp_path / "home"
    first = evaluate(dataset, home=home, modes=["bm25"], chunk_tokens=250)
    assert first.index_reused is False
    assert evaluate(dataset, home=home, modes=["bm25"], chunk_tokens=250).index_reused is True
    assert evaluate(dataset, home=home, modes=["bm25"], chunk_tokens=120).index_reused is False
    (home / "eval.json").unlink()
    code, out, err = run_cli(["eval", str(dataset), "--home", str(home), "-q"], capsys)
    assert code == 2
    assert out == ""
    assert err == (
        f"Error: {home} holds an index that `localsearch eval` did not build"
        " — give `--home` an empty or new folder\n"
    )


def test_eval_reuses_its_index_when_only_the_corpus_time_changed(tmp_path: Path) -> None:
    dataset = write_beir(tmp_path / "tiny")
    home = tmp_path / "home"
    corpus = dataset / "corpus.jsonl"
    assert evaluate(dataset, home=home, modes=["bm25"]).index_reused is False
    # The same bytes with a new time, as a copy or a restore from a backup leaves them.
    later = corpus.stat().st_mtime_ns + 10**9
    os.utime(corpus, ns=(later, later))
    assert evaluate(dataset, home=home, modes=["bm25"]).index_reused is True
    assert json.loads((home / "eval.json").read_text())["corpus_mtime_ns"] == later
    # Other bytes of the same size are another corpus.
    text = corpus.read_text()
    corpus.write_text(text.replace("a", "b", 1))
    assert corpus.read_text() != text
    assert evaluate(dataset, home=home, modes=["bm25"]).index_reused is False


def _coverage(home: Path) -> tuple[int, int]:
    from localsearch.config import load_settings
    from localsearch.embed_backlog import dense_coverage
    from localsearch.store import Store

    store = Store(load_settings(home).database_path, create=False)
    try:
        coverage = dense_coverage(store)
        return coverage.embedded, coverage.chunks
    finally:
        store.close()


def test_eval_of_bm25_alone_embeds_nothing_and_a_later_dense_run_embeds_the_rest(
    tmp_path: Path, capsys
) -> None:
    """One index serves every mode, and BM25 alone embedded the whole corpus for nothing
    (SciFact: minutes of a BM25 run's time)."""
    dataset = write_beir(tmp_path / "tiny")
    home = tmp_path / "home"
    report = evaluate(dataset, home=home, modes=["bm25"])
    assert (report.index_reused, report.modes["bm25"].ndcg_at_10) == (False, 1.0)
    assert _coverage(home) == (0, 4)
    marker = json.loads((home / "eval.json").read_text())
    assert (marker["complete"], marker["vectors"]) == (True, False)
    # The marker says the index is complete: the vectors are counted, not taken from it.
    code, _, err = run_cli(
        ["eval", str(dataset), "--home", str(home), "-q", "--modes", "dense"], capsys
    )
    assert code == 0, err
    assert err.startswith(
        "Reused the index of 4 documents (4 chunks) and embedded 4 chunks it had no vector for in"
    )
    assert _coverage(home) == (4, 4)
    assert "vectors" not in json.loads((home / "eval.json").read_text())
    again = evaluate(dataset, home=home, modes=["dense", "hybrid"])
    assert (again.index_reused, again.chunks_embedded) == (True, 0)
    assert again.modes["dense"].ndcg_at_10 == again.modes["hybrid"].ndcg_at_10 == 1.0
    # A database deleted by hand under a complete marker is built again, not reused as empty.
    for path in home.glob("localsearch.db*"):
        path.unlink()
    report = evaluate(dataset, home=home, modes=["dense"])
    assert (report.index_reused, report.modes["dense"].ndcg_at_10) == (False, 1.0)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--modes", "bm25,fuzzy"],
            2,
            "Error: unknown mode 'fuzzy'; choose from bm25, dense,"
            " hybrid, hybrid-rrf, hybrid-weighted, hybrid-zscore\n",
        ),
        (["-k", "5"], 2, "Error: -k must be at least 10 for nDCG@10 and MRR@10\n"),
        (["--split", "dev"], 1, "Error: {root}/qrels/dev.tsv is missing — splits here: test\n"),
    ],
)
def test_eval_usage_errors(tmp_path: Path, capsys, args, code, message) -> None:
    root = write_beir(tmp_path / "tiny")
    result = run_cli(["eval", str(root), "-q", *args], capsys)
    assert result == (code, "", message.format(root=root))


def test_relevant_documents_missing_from_the_corpus_are_said(tmp_path: Path, capsys) -> None:
    # Recall fell with nothing to say why.
    root = write_beir(tmp_path / "tiny", qrels="q1\td2\t1\nq1\td9\t1\nq2\td3\t1\n")
    code, out, err = run_cli(["eval", str(root), "-q", "--modes", "bm25", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["missing_relevant"] == ["d9"]
    assert err == (
        "Warning: 1 document judged relevant in qrels/test.tsv is not in corpus.jsonl (such as"
        " 'd9'): no mode can find them, so the scores stay below what they would be\n"
    )


def test_an_error_before_any_progress_is_the_only_line_on_stderr(tmp_path: Path, capsys):
    # Without -q the bars are on, but none was drawn: no empty line before the error in a log.
    result = run_cli(["eval", str(tmp_path), "--home", str(tmp_path / "home")], capsys)
    assert result == (
        1,
        "",
        f"Error: {tmp_path}/corpus.jsonl is missing"
        " — a BEIR folder has corpus.jsonl, queries.jsonl and qrels/\n",
    )


def test_eval_on_a_malformed_corpus_is_one_line(tmp_path: Path, capsys) -> None:
    root = write_beir(tmp_path / "tiny")
    (root / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\nnot json\n')
    result = run_cli(["eval", str(root), "-q", "--modes", "bm25"], capsys)
    assert result == (
        1,
        "",
        f"Error: {root}/corpus.jsonl:2: invalid JSON (Expecting value)\n",
    )


def test_eval_takes_a_model_by_path_or_refuses_an_unknown_one(tmp_path: Path, capsys) -> None:
    from localsearch.catalog import resolve_model

    root = write_beir(tmp_path / "tiny")
    folder = resolve_model("all-MiniLM-L6-v2", tmp_path / "models").location
    report = evaluate(root, home=tmp_path / "home", model=folder, modes=["dense"])
    assert report.model == folder
    assert report.modes["dense"].ndcg_at_10 == 1.0
    result = run_cli(["eval", str(root), "-q", "--model", "no-such-model"], capsys)
    assert result == (
        1,
        "",
        "Error: unknown model 'no-such-model' — run `localsearch models` to list known models,"
        " or give a folder or a Hugging Face id\n",
    )


def test_eval_takes_a_model_adapted_or_pulled_in_your_home(tmp_path: Path, capsys) -> None:
    """The index lives in a home of its own, so `eval DATASET --model my-adapted-model` (as the
    README has it) was "unknown model" for a model `localsearch models` listed."""
    from localsearch.catalog import resolve_model
    from localsearch.config import load_settings

    root = write_beir(tmp_path / "tiny")
    yours = load_settings().models_dir / "adapted" / "mini-copy"  # in LOCALSEARCH_HOME
    yours.mkdir(parents=True)
    for item in Path(resolve_model("all-MiniLM-L6-v2", tmp_path).location).iterdir():
        (yours / item.name).symlink_to(item)
    (yours / "card.json").write_text('{"base": "all-MiniLM-L6-v2"}', encoding="utf-8")
    for home in ([], ["--home", str(tmp_path / "eval-home")]):
        args = ["eval", str(root), "-q", "--modes", "dense", "--json", "--model", "mini-copy"]
        code, out, err = run_cli([*args, *home], capsys)
        assert code == 0, err
        report = json.loads(out)
        assert (report["model"], report["modes"]["dense"]["ndcg@10"]) == ("mini-copy", 1.0)
    assert (yours / "card.json").is_file()  # the temporary home went, your model stays
    notes = tmp_path / "notes"
    notes.mkdir()
    result = run_cli(["eval", str(root), "-q", "--model", str(notes)], capsys)
    assert result == (
        1,
        "",
        f"Error: {notes} is not a model folder: it has no config.json — give the folder that"
        " holds the model's config.json\n",
    )


def test_eval_on_a_missing_folder(tmp_path: Path, capsys) -> None:
    result = run_cli(["eval", str(tmp_path / "nowhere"), "-q"], capsys)
    assert result == (1, "", f"Error: no such dataset folder: {tmp_path / 'nowhere'}\n")
    a_file = tmp_path / "corpus.jsonl"
    a_file.write_text("{}\n")
    result = run_cli(["eval", str(a_file), "-q"], capsys)
    assert result == (1, "", f"Error: not a folder: {a_file} — a BEIR dataset is a folder\n")


def test_eval_refuses_qrels_whose_relevant_documents_are_not_in_the_corpus(tmp_path, capsys):
    """Every metric was 0, with exit 0; then it was said only once the whole corpus had been
    indexed (minutes for SciFact's, with nothing to keep when the index was temporary)."""
    dataset = write_beir(tmp_path / "elsewhere", qrels="q1\tx7\t1\nq2\tx9\t2\nq2\td2\t0\n")
    result = run_cli(["eval", str(dataset), "--home", str(tmp_path / "h"), "-q"], capsys)
    assert result == (
        1,
        "",
        "Error: none of the 2 documents judged relevant in qrels/test.tsv is in corpus.jsonl"
        " (such as 'x7')\n",
    )
    assert not (tmp_path / "h" / "localsearch.db").exists()


# -- quality floors on SciFact ----------------------------------------------------------------

FLOORS = {"bm25": 0.65, "dense": 0.63, "hybrid": 0.69}


@pytest.fixture(scope="session")
def scifact_report(scifact: Path, request: pytest.FixtureRequest):
    """Built in a child process since the session began (conftest.py, background_eval.py)."""
    return request.config.stash[SCIFACT_EVALUATION].report()


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(FLOORS))
def test_scifact_quality_floor(scifact_report, mode: str) -> None:
    result = scifact_report.modes[mode]
    assert result.ndcg_at_10 >= FLOORS[mode], (mode, result.to_dict())


@pytest.mark.slow
def test_scifact_hybrid_beats_both_parts(scifact_report) -> None:
    modes = scifact_report.modes
    assert modes["hybrid"].ndcg_at_10 > max(modes["bm25"].ndcg_at_10, modes["dense"].ndcg_at_10)
    assert scifact_report.documents == 5183
    assert scifact_report.queries == 300
