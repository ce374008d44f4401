"""`localsearch adapt`: fine-tune the embedder on the indexed files, keep it only if better."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from localsearch.cli import GivenPath, home_option, quiet_option, settings_from, wait_option
from localsearch.cli.output import RichProgress, print_json, stderr, stdout
from localsearch.wording import plural

if TYPE_CHECKING:
    from localsearch.config import Settings

ADAPT_LABELS = {
    "generate": "Generating queries",
    "mine": "Mining negatives",
    "train": "Training",
    "evaluate": "Evaluating",
    "reembed": "Re-embedding",
}


@click.command()
@home_option
@click.option(
    "--generator",
    metavar="NAME_OR_PATH",
    help="Seq2seq query generator (pulled name or folder), or 'structure' for the model-free"
    " one. Default: a pulled generator if there is one, else 'structure'.",
)
@click.option("--max-passages", type=click.IntRange(1), help="Make queries for this many chunks.")
@click.option(
    "--queries-per-passage",
    type=click.IntRange(1, 20),
    default=3,
    show_default=True,
    help="Queries per chunk from a seq2seq generator.",
)
@click.option(
    "--reranker",
    metavar="NAME_OR_PATH",
    help="Cross-encoder that filters false negatives (margin 3); implies --hard-negatives 1.",
)
@click.option(
    "--pairs",
    "pairs_file",
    type=GivenPath("file", "the file of your own pairs", dir_okay=False),
    help="Your own (query, positive[, negative]) rows: TSV, JSONL or a JSON array of triples.",
)
@click.option("--base", help="Model to fine-tune (default: what the active model came from).")
@click.option("--name", help="Name for the new model (default BASE-adapted-N).")
@click.option(
    "--epochs",
    type=click.FloatRange(0, min_open=True),
    help="Passes over the pairs (default: 2 over the model-free pairs BM25 misses, else 1).",
)
@click.option("--batch-size", type=click.IntRange(2), default=64, show_default=True)
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, min_open=True),
    help="Default: 2e-5 for the whole model, 5e-5 for the query side.",
)
@click.option("--max-steps", type=click.IntRange(1), help="Stop training after this many steps.")
@click.option(
    "--time-budget",
    "time_budget",
    type=click.FloatRange(0, min_open=True),
    metavar="MINUTES",
    help="Stop training cleanly after this many minutes, keeping what it learnt"
    " (default: 8 on a CPU, no limit on a GPU).",
)
@click.option(
    "--max-seq-length",
    type=click.IntRange(16, 512),
    default=128,
    show_default=True,
    help="Tokens per passage while training.",
)
@click.option(
    "--hard-negatives",
    type=click.IntRange(0, 1),
    default=0,
    show_default=True,
    help="Mined hard negatives per query (each costs training time).",
)
@click.option("--cached-loss", is_flag=True, help="CachedMNRL: a big batch at low memory.")
@click.option(
    "--query-side/--whole-model",
    "query_side",
    default=None,
    help="Train only the query side against the stored passage vectors (no re-embedding), or"
    " the whole model. Default: the query side when your search log has opened results and"
    " no --hard-negatives or --reranker is asked for.",
)
@click.option(
    "--no-history",
    is_flag=True,
    help="Ignore the search log: learn from and judge on synthetic queries only.",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), help="Device.")
@wait_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@quiet_option
@click.pass_context
def adapt(
    ctx: click.Context,
    home: Path | None,
    generator: str | None,
    max_passages: int | None,
    queries_per_passage: int,
    reranker: str | None,
    pairs_file: Path | None,
    base: str | None,
    name: str | None,
    epochs: float | None,
    batch_size: int,
    learning_rate: float | None,
    max_steps: int | None,
    time_budget: float | None,
    max_seq_length: int,
    hard_negatives: int,
    cached_loss: bool,
    query_side: bool | None,
    no_history: bool,
    device: str | None,
    wait_seconds: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Fine-tune the embedding model on your own searches and files.

    Learns from the searches you made and the results you opened (the search log), with
    pseudo-queries from the indexed documents filling in while the log is short. The current
    and the new model are measured on searches held out of training (pseudo-queries from held-out
    documents while the log is short); the new model replaces the current one only if it is
    better. `localsearch models rollback` goes back.
    """
    from localsearch.adapt import AdaptOptions
    from localsearch.adapt import adapt as run_adapt
    from localsearch.adapt.distributed import is_main_process
    from localsearch.adapt.pipeline import what_trains

    settings = settings_from(ctx, home)
    options = AdaptOptions(
        generator=generator,
        max_passages=max_passages,
        queries_per_passage=queries_per_passage,
        reranker=reranker,
        pairs_file=pairs_file,
        base=base,
        name=name,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        max_steps=max_steps,
        time_budget_minutes=time_budget,
        max_seq_length=max_seq_length,
        cached_loss=cached_loss,
        negatives_per_query=max(hard_negatives, 1 if reranker else 0),
        query_side=query_side,
        use_history=not no_history,
        device=device,
        wait_seconds=wait_seconds,
    )
    shows_progress = not quiet and not as_json and is_main_process()
    try:
        with RichProgress(ADAPT_LABELS, enabled=shows_progress) as progress:
            says = not as_json and is_main_process()  # as the lines after training
            result = run_adapt(settings, options, progress, _say if says else _say_nothing)
    except KeyboardInterrupt:
        _say_what_an_interruption_left(settings)
        sys.exit(130)
    if result.worker:  # a launched run's other ranks: rank 0 reports
        return
    if as_json:
        print_json(result.to_dict())
        return
    training = result.training
    if training is not None:
        stopped = " (time budget reached)" if training.stopped_early else ""
        trained = what_trains(
            result.query_side, result.training_pairs, result.history_pairs, result.generator
        )
        stderr.print(
            f"Trained {trained}:"
            f" {plural(training.steps, 'step')} in {training.seconds:.0f}s on {training.device}"
            f"{stopped}.",
            markup=False,
        )
    if result.judged_on:
        _say(result.judged_on)
    if result.gate is not None:
        real = "of your searches held out" in result.judged_on
        print_gate_table(result.gate, result.previous_model, real)
    else:
        stdout.print(result.reason[:1].upper() + result.reason[1:] + ".", markup=False)
    if result.kept:
        stdout.print(
            f"Kept {result.model}: it is now the active model (was {result.previous_model};"
            " `localsearch models rollback` goes back).",
            markup=False,
        )
    else:
        stdout.print(
            f"Not kept: the new model is {result.reason}; {result.previous_model} stays active.",
            markup=False,
        )
    stderr.print(f"adapt took {result.seconds / 60:.1f} min.", markup=False)


def _say(line: str) -> None:
    stderr.print(line[:1].upper() + line[1:] + ".", markup=False)


def _say_nothing(line: str) -> None:
    pass


def _say_what_an_interruption_left(settings: Settings) -> None:
    """Rather than the generic "run the command again to finish": a new run of adapt starts
    over, unless the interruption came while switching to a model that passed the gate."""
    from localsearch.adapt.models import adapt_standing

    active, switching_to = adapt_standing(settings)
    if switching_to:
        stderr.print(
            f"Interrupted while switching to {switching_to}: searches still use {active};"
            " run `localsearch adapt` again to finish the switch.",
            markup=False,
        )
    else:
        still = f"; searches still use {active}" if active else ""
        stderr.print(f"Interrupted: no new model was kept{still}.", markup=False)


def print_gate_table(gate: object, previous: str, real: bool = False) -> None:
    from rich.table import Table
    from rich.text import Text

    from localsearch.adapt.gate import GateResult

    assert isinstance(gate, GateResult)
    title = "Your held-out searches" if real else "Held-out pseudo-queries"
    table = Table(title=f"{title} ({gate.queries})", title_justify="left")
    table.add_column("search")
    table.add_column("measure")
    table.add_column(f"current ({previous})", justify="right")
    table.add_column("new", justify="right")
    table.add_column("change", justify="right")
    for mode, measure, old, new, change in gate.rows():
        style = "green" if change > 0 else ("red" if change < 0 else "")
        change_text = Text(f"{change * 100:+.1f}", style=style)
        table.add_row(mode, measure, f"{old:.3f}", f"{new:.3f}", change_text)
    stdout.print(table)


commands = [adapt]
