"""adapt under torchrun: two CPU processes on the gloo backend train together, agree on the
weights, and only rank 0 saves the model and writes the index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import index_files

from localsearch.adapt.distributed import weights_digest
from localsearch.adapt.models import adapted_root, run_log
from localsearch.config import load_settings

TESTS = Path(__file__).parent


def torchrun(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return subprocess.run(
        [*command, "--nproc-per-node", "2", *args],
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def load_saved(folder: Path):  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


@pytest.mark.slow
def test_two_gloo_ranks_train_one_model_and_rank_zero_alone_saves_it(tmp_path: Path):
    done = torchrun([str(TESTS / "distributed_training.py"), str(tmp_path)], {})
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["processes"] for r in ranks] == [2, 2]
    assert ranks[0]["steps"] >= 1 and ranks[0]["steps"] == ranks[1]["steps"]
    assert ranks[0]["digest"] == ranks[1]["digest"]  # one model, on both ranks
    assert (tmp_path / "rank-0").is_dir() and not (tmp_path / "rank-1").exists()

    saved = weights_digest(load_saved(tmp_path / "rank-0"))
    assert saved == ranks[0]["digest"]
    from localsearch.catalog import resolve_model

    base = resolve_model("all-MiniLM-L6-v2", tmp_path / "none").location
    assert weights_digest(load_saved(Path(base))) != saved  # it did train


TOPICS = {
    "bread": ("Baking Bread", "Starter", "Feed a sourdough starter flour and water daily."),
    "stars": ("Telescopes", "Aperture", "The mirror decides how faint the galaxies you see are."),
    "garden": ("Tomatoes", "Planting", "Plant seedlings deep after the last frost in full sun."),
    "bikes": ("Bicycles", "Chains", "Clean the chain, then oil each link and wipe it."),
    "birds": ("Garden Birds", "Songs", "A robin sings in winter; a wren is loud for its size."),
    "tea": ("Brewing Tea", "Water", "Green tea wants water well below boiling, black tea not."),
    "knots": ("Sailing Knots", "Bowline", "A bowline makes a fixed loop that will not slip."),
    "bees": ("Keeping Bees", "Swarms", "A colony swarms in spring when the hive gets crowded."),
}
DOCUMENTS = {
    f"{stem}.md": f"# {title}\n\n## {heading}\n\n{text}\n\n## Notes\n\nMore on {title.lower()}"
    f" and {heading.lower()} for beginners.\n"
    for stem, (title, heading, text) in TOPICS.items()
}


@pytest.mark.slow
def test_adapt_command_runs_unchanged_under_torchrun(tmp_path: Path):
    _, home = index_files(tmp_path, DOCUMENTS)
    done = torchrun(
        [str(TESTS / "judged_on_few.py"), "adapt", "--json", "--device", "cpu", "--max-steps", "2"]
        + ["--batch-size", "4", "--max-seq-length", "32"],
        {"LOCALSEARCH_HOME": str(home)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # one JSON object: rank 1 prints nothing
    training = result["training"]
    assert training["processes"] == 2 and training["steps"] >= 1
    settings = load_settings(home)
    runs = run_log(settings.models_dir)
    assert len(runs) == 1  # the run was recorded once, by rank 0
    assert runs[0]["training"]["weights_sha256"] == training["weights_sha256"]
    adapted = [p for p in adapted_root(settings.models_dir).iterdir() if p.is_dir()]
    if result["kept"]:
        assert [p.name for p in adapted] == [result["model"]]
        assert weights_digest(load_saved(adapted[0])) == training["weights_sha256"]
    else:
        assert adapted == []  # the staging folder is gone too
