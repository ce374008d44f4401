"""The SciFact evaluation behind the quality-floor tests, run in a child process.

Indexing SciFact's 9.5k chunks is over a third of the suite's time, and most of the suite
leaves one of two cores idle. conftest.py starts this child when the session begins and runs
the tests that need its report last, so the index builds while everything else runs.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

MODES = ("bm25", "dense", "hybrid")


class BackgroundEvaluation:
    """`localsearch.evaluate.evaluate(dataset, modes=MODES)` in a child, from a fresh home."""

    def __init__(self, dataset: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="localsearch-test-scifact-"))
        self.output = self.folder / "report.pickle"
        self.log = self.folder / "child.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSEARCH_")}
        command = [sys.executable, __file__, str(dataset), str(self.folder / "home")]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, str(self.output)], stdout=log, stderr=subprocess.STDOUT, env=env
            )

    def report(self) -> Any:
        code = self.process.wait()
        if code != 0:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the SciFact evaluation failed (exit {code}):\n{tail}")
        return pickle.loads(self.output.read_bytes())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


SCIFACT_EVALUATION = pytest.StashKey[BackgroundEvaluation]()


if __name__ == "__main__":
    from localsearch.evaluate import evaluate

    dataset, home, output = sys.argv[1:4]
    report = evaluate(Path(dataset), home=Path(home), modes=list(MODES))
    Path(output).write_bytes(pickle.dumps(report))
