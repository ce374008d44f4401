"""`--per-doc N`: a document that matches in several places shows up to N of them, best first,
and says how many more it has (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import index_files, run_cli

from localsearch.config import load_settings
from localsearch.search.engine import SearchEngine

FILLER = " ".join(f"word{i}" for i in range(260))
MANUAL = "\n\n".join(
    f"# Part {n}\n\n{topic} {FILLER}\n"
    for n, topic in enumerate(
        [
            "Turbine blades need inspection every spring.",
            "The gearbox oil is changed yearly.",
            "Turbine bearings wear; listen for the turbine's hum.",
            "Paint the tower every decade.",
            "A turbine brake stops the rotor in storms.",
        ],
        start=1,
    )
)
DOCS = {"manual.md": MANUAL, "other.md": "# Other\n\nA turbine is mentioned once here.\n"}


@pytest.fixture(scope="module")
def manual_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return index_files(tmp_path_factory.mktemp("per-doc"), DOCS)[1]


def test_per_doc_lists_the_documents_other_matching_chunks(manual_home: Path) -> None:
    engine = SearchEngine(load_settings(manual_home))
    try:
        plain = engine.search("turbine", mode="bm25")
        grouped = engine.search("turbine", mode="bm25", per_doc=3)
    finally:
        engine.close()
    assert [h.path for h in grouped.hits] == [h.path for h in plain.hits]  # same ranking
    manual = next(h for h in grouped.hits if h.path.endswith("manual.md"))
    assert manual.more_count == 2  # three parts mention turbines: one shown, two more
    assert len(manual.more) == 2
    assert {m.path for m in manual.more} == {manual.path}
    shown = [manual.chunk_id, *(m.chunk_id for m in manual.more)]
    assert len(set(shown)) == 3
    assert manual.more[0].score >= manual.more[1].score
    assert all("urbine" in m.text for m in manual.more)
    assert not next(h for h in grouped.hits if h.path.endswith("other.md")).more


def test_cli_per_doc(manual_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["search", "turbine", "--mode", "bm25", "--home", str(manual_home)]
    code, out, err = run_cli([*args, "--per-doc", "2", "--json"], capsys)
    assert (code, err) == (0, "")
    manual = next(r for r in json.loads(out)["results"] if r["path"].endswith("manual.md"))
    assert manual["more_count"] == 2 and len(manual["more"]) == 1
    code, out, _ = run_cli([*args, "--per-doc", "2"], capsys)
    assert code == 0
    assert "   (1 more in this file)" in out.splitlines()
    assert any(line.startswith("   + ") and "manual.md:" in line for line in out.splitlines())
    code, out, err = run_cli([*args, "--per-doc", "0"], capsys)
    assert code != 0 and out == ""
    assert "--per-doc must be at least 1" in err


def test_a_files_other_places_rank_with_the_queries_own_dense_weight(
    manual_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import localsearch.search.engine as engine_module

    weights: list[float] = []
    real_fuse = engine_module.fuse_hybrid

    def recording_fuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        weights.append(kwargs["dense_weight"])
        return real_fuse(*args, **kwargs)

    # As a CJK query with a multilingual model gets: its own weight, not the setting's.
    monkeypatch.setattr(engine_module, "dense_weight_for", lambda *_: 0.75)
    monkeypatch.setattr(engine_module, "fuse_hybrid", recording_fuse)
    engine = SearchEngine(load_settings(manual_home))
    try:
        found = engine.search("turbine", mode="hybrid", per_doc=3)
    finally:
        engine.close()
    assert next(h for h in found.hits if h.path.endswith("manual.md")).more
    assert len(weights) > 1 and set(weights) == {0.75}
