"""Run by tests/test_adapt_distributed.py under torchrun: each rank trains the bundled model
on the same tiny pairs and writes what it ended with to OUT/rank-N.json; OUT/rank-N/ is where
it was told to save the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from localsearch.adapt import distributed
from localsearch.adapt.train import TrainingExample, TrainingOptions, train_bi_encoder
from localsearch.catalog import resolve_model

PAIRS = [
    ("keep a sourdough starter alive", "Feed the starter flour and water daily."),
    ("how big a telescope mirror", "The aperture decides how faint the galaxies you see are."),
    ("when to plant tomatoes", "Plant seedlings deep after the last frost, in full sun."),
    ("oil a bicycle chain", "Clean the chain, then oil each link and wipe off the excess."),
    ("identify garden birds", "Note size, bill shape, wing bars and song."),
    ("proof dough overnight", "Proof it in a basket lined with rice flour in the fridge."),
    ("track stars for photos", "An equatorial mount turns about an axis parallel to Earth's."),
    ("prune cordon tomatoes", "Pinch out side shoots so the plant puts energy into fruit."),
]


def main(out: Path) -> None:
    distributed.ensure_process_group()
    rank = distributed.rank()
    report = train_bi_encoder(
        resolve_model("all-MiniLM-L6-v2", out / "no-models").location,
        [TrainingExample(q, p) for q, p in PAIRS],
        out / f"rank-{rank}",
        TrainingOptions(
            batch_size=2, max_steps=3, max_seq_length=32, learning_rate=1e-4, device="cpu"
        ),
    )
    distributed.leave_process_group()
    (out / f"rank-{rank}.json").write_text(
        json.dumps(
            {"digest": report.weights_sha256, "processes": report.processes, "steps": report.steps}
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
