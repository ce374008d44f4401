"""Shared fixtures: every test gets its own LOCALSEARCH_HOME; the bundled model loads once."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

# The suite keeps both cores busy with its own processes (the background index builds, CLI
# children, torchrun ranks): torch's OpenMP threads then spin-wait for a descheduled partner.
# One thread each measured ~30% less CPU for the same encoding and up to 4x less for a training
# step. Set before anything imports torch or numpy; subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from background_eval import (
    CJK_SAMPLE,
    CORPUS_SAMPLES,
    DOCS_SAMPLE,
    SCIFACT_EVALUATION,
    BackgroundEvaluation,
    BackgroundJob,
    BackgroundSamples,
    start_job,
)
from helpers import cjk_known_answer_sample, docs_known_answer_sample, write_files

if TYPE_CHECKING:
    from localsearch.embed.bert_folder import BertFolder
    from localsearch.embed.sentence_transformer import SentenceTransformerEncoder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpora" / "opensource-docs"
SCIFACT = SHARED / "datasets" / "scifact"
CJK_CORPUS = SHARED / "corpora" / "cjk-docs"
CJK_QUERIES = SHARED / "corpora" / "queries" / "cjk-docs.tsv"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


BACKGROUND = pytest.StashKey[Path]()  # the session's folder of background jobs
NEEDED = "needed.json"  # {job: its arguments}, which an xdist worker leaves to its controller
OWNED = pytest.StashKey[list[BackgroundJob]]()  # the jobs this process started and must end
JOBS = {
    "scifact": (SCIFACT_EVALUATION, BackgroundEvaluation),
    "samples": (CORPUS_SAMPLES, BackgroundSamples),
}


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, "workerinput", None)
    if worker is not None:  # pytest-xdist's worker: its controller made the folder
        config.stash[BACKGROUND] = Path(worker["localsearch_background"])
    else:
        config.stash[BACKGROUND] = Path(tempfile.mkdtemp(prefix="localsearch-test-background-"))
    config.stash[OWNED] = []


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # type: ignore[no-untyped-def]
    """pytest-xdist's controller hands its workers the folder of background jobs."""
    node.workerinput["localsearch_background"] = str(node.config.stash[BACKGROUND])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:  # type: ignore[no-untyped-def]
    """pytest-xdist's controller starts the jobs its first worker found needed, before any test
    is sent to a worker: one child per job for the whole session, every worker waiting on it."""
    config = node.config
    needed = config.stash[BACKGROUND] / NEEDED
    if not config.stash[OWNED] and needed.exists():
        for name, arguments in json.loads(needed.read_text(encoding="utf-8")).items():
            folder = config.stash[BACKGROUND] / name
            config.stash[OWNED].append(BackgroundJob(folder, start_job(folder, *arguments)))
        needed.unlink()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the big index builds in the background and run the tests that read them last."""
    if config.option.collectonly:
        return

    def users(fixture: str) -> list[pytest.Item]:
        return [item for item in items if fixture in getattr(item, "fixturenames", ())]

    late: list[pytest.Item] = []
    needed: dict[str, list[str]] = {}
    if (scifact_users := users("scifact_report")) and SCIFACT.exists():
        needed["scifact"] = BackgroundEvaluation.arguments(SCIFACT)
        late += scifact_users
    samples = {}
    if (docs_users := users("known_answer_home")) and CORPUS.exists():
        samples[DOCS_SAMPLE] = (CORPUS, docs_known_answer_sample(CORPUS))
        late += docs_users
    if (cjk_users := users("cjk_known_answer_home")) and CJK_QUERIES.exists():
        samples[CJK_SAMPLE] = (CJK_CORPUS, cjk_known_answer_sample(CJK_CORPUS, CJK_QUERIES))
        late += cjk_users
    if samples:
        needed["samples"] = BackgroundSamples.arguments(samples)
    base = config.stash[BACKGROUND]
    worker = getattr(config, "workerinput", None)
    for name, arguments in needed.items():
        key, kind = JOBS[name]
        if worker is None:
            process = start_job(base / name, *arguments)
            config.stash[OWNED].append(job := kind(base / name, process))
            config.stash[key] = job
        else:
            config.stash[key] = kind(base / name)
    if worker is not None and needed:  # every worker collects the same: the last write wins
        mine = base / f"{NEEDED}.{worker['workerid']}"
        mine.write_text(json.dumps(needed), encoding="utf-8")
        mine.replace(base / NEEDED)
    waiting = set(late)
    items[:] = [item for item in items if item not in waiting] + list(dict.fromkeys(late))


def pytest_unconfigure(config: pytest.Config) -> None:
    for job in config.stash.get(OWNED, []):
        job.close()
    if not hasattr(config, "workerinput") and BACKGROUND in config.stash:
        shutil.rmtree(config.stash[BACKGROUND], ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LOCALSEARCH_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("LOCALSEARCH_") and name != "LOCALSEARCH_HOME":
            monkeypatch.delenv(name)
    # A search would otherwise leave a resident server behind; tests/test_server.py starts
    # its own.
    monkeypatch.setenv("LOCALSEARCH_SERVER_AUTOSTART", "0")
    return home


@pytest.fixture(scope="session")
def corpus() -> Path:
    return require(CORPUS)


@pytest.fixture(scope="session")
def scifact() -> Path:
    return require(SCIFACT)


@pytest.fixture(scope="module")
def peps_home(tmp_path_factory: pytest.TempPathFactory, corpus: Path):
    """A home with four PEPs indexed, one per test module (read-only for its tests)."""
    from tui_helpers import index_peps

    return index_peps(tmp_path_factory.mktemp("tui"), corpus)


@pytest.fixture
def settings(isolated_home: Path):
    from localsearch.config import load_settings

    return load_settings(isolated_home)


@pytest.fixture
def make_docs(tmp_path: Path):
    """Write a small folder of documents: make_docs({"a.md": "# A\\ntext"}) -> folder."""

    def write(files: dict[str, str | bytes], folder: str = "docs") -> Path:
        return write_files(tmp_path / folder, files)

    return write


@pytest.fixture(scope="module")
def bundled() -> SentenceTransformerEncoder:
    """The bundled model's encoder (load_encoder keeps one per process)."""
    from localsearch.config import load_settings
    from localsearch.embed.sentence_transformer import SentenceTransformerEncoder, load_encoder

    encoder = load_encoder("all-MiniLM-L6-v2", load_settings().models_dir)
    assert isinstance(encoder, SentenceTransformerEncoder)
    return encoder


@pytest.fixture(scope="module")
def folder(bundled: SentenceTransformerEncoder) -> BertFolder:
    """The bundled model's folder as embed/bert_folder.py reads it."""
    from localsearch.embed.bert_folder import read_bert_folder

    found = read_bert_folder(bundled.location)
    assert found is not None
    return found
