"""`localsearch eval DATASET_DIR`: quality and latency of every search mode on a BEIR dataset."""

from __future__ import annotations

import functools
from pathlib import Path

import click
from rich.table import Table

from localsearch.cli import GivenPath, home_option, quiet_option, reading_only, settings_from
from localsearch.cli.output import RichProgress, print_json, stderr, stdout
from localsearch.config import Settings
from localsearch.errors import UsageError
from localsearch.evaluate.runner import DEFAULT_MODES, DEPTH, KNOWN_MODES
from localsearch.wording import plural


@click.command(name="eval")
@click.argument("dataset_dir", type=GivenPath("folder", "a BEIR dataset folder"), required=False)
@click.option("--split", default="test", show_default=True, help="Which qrels/<split>.tsv to use.")
@functools.partial(
    home_option,
    help="Where a dataset's index is built and kept (default: a temporary folder); with"
    " --history, the data directory to score (default: LOCALSEARCH_HOME or the platform's"
    " user data dir).",
)
@click.option("--model", help="Embedding model to evaluate (catalogue name, folder or HF id).")
@click.option(
    "--modes",
    default=",".join(DEFAULT_MODES),
    show_default=True,
    help=f"Comma-separated, from: {', '.join(KNOWN_MODES)}.",
)
@click.option("-k", "depth", type=int, default=DEPTH, show_default=True, help="Results per query.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--history",
    "use_history",
    is_flag=True,
    help="Score your own logged searches (MRR@10 of what you opened) instead of a dataset,"
    " for the active model and --model (default: the previous one).",
)
@quiet_option
@click.pass_context
def eval_command(
    ctx: click.Context,
    dataset_dir: Path | None,
    split: str,
    home: Path | None,
    model: str | None,
    modes: str,
    depth: int,
    as_json: bool,
    use_history: bool,
    quiet: bool,
) -> None:
    """Index a BEIR dataset and report nDCG@10, Recall@100, MRR@10 and latency per mode.

    The index goes into a temporary folder unless --home is given; a home built by an earlier
    run with the same corpus, model and chunking is reused. With --history instead of a
    dataset: how well the active model (and another) finds what you opened in your own searches.
    """
    from localsearch.evaluate.runner import evaluate, parse_modes

    if use_history:
        if dataset_dir is not None:
            raise UsageError("give a DATASET_DIR or --history, not both")
        eval_history(settings_from(ctx, home), model, as_json, quiet)
        return
    if dataset_dir is None:
        raise UsageError(
            "give a DATASET_DIR (a BEIR folder), or --history to score your own searches"
        )

    chosen = parse_modes(modes.split(","))
    from localsearch.config import default_home

    your_models = default_home() / "models"  # LOCALSEARCH_HOME's: --home is the dataset's
    labels = {f"search {m}": f"Queries ({m})" for m in chosen}
    with RichProgress(labels, enabled=not quiet) as progress:
        report = evaluate(
            dataset_dir,
            split=split,
            home=home or (ctx.obj or {}).get("home"),  # not LOCALSEARCH_HOME: the user's index
            model=model,
            modes=chosen,
            depth=depth,
            progress=progress,
            models_from=your_models,
        )
    if report.missing_relevant:
        stderr.print(
            f"Warning: {plural(len(report.missing_relevant), 'document')} judged relevant in"
            f" qrels/{report.split}.tsv {'is' if len(report.missing_relevant) == 1 else 'are'}"
            f" not in corpus.jsonl (such as {report.missing_relevant[0]!r}): no mode can find"
            " them, so the scores stay below what they would be",
            markup=False,
        )
    if as_json:
        print_json(report.to_dict())
        return
    embedded = (
        f" and embedded {plural(report.chunks_embedded, 'chunk')} it had no vector for"
        if report.chunks_embedded
        else ""
    )
    stderr.print(
        f"{'Reused' if report.index_reused else 'Built'} the index of"
        f" {plural(report.documents, 'document')} ({plural(report.chunks, 'chunk')}){embedded}"
        f" in {report.index_seconds:.1f}s.",
        markup=False,
    )
    table = Table(
        title=f"{report.dataset} ({report.split}, {plural(report.queries, 'query')},"
        f" {report.model})",
        caption=f"latency: one search for the top {depth} documents, model loaded, no snippets",
    )
    for column in ("mode", "nDCG@10", "Recall@100", "MRR@10", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for name, result in report.modes.items():
        label = f"{name} ({result.fusion})" if name == "hybrid" and result.fusion else name
        table.add_row(
            label,
            f"{result.ndcg_at_10:.4f}",
            f"{result.recall_at_100:.4f}",
            f"{result.mrr_at_10:.4f}",
            f"{result.p50_ms:.1f}",
            f"{result.p95_ms:.1f}",
        )
    stdout.print(table)


def eval_history(settings: Settings, model: str | None, as_json: bool, quiet: bool) -> None:
    from localsearch.evaluate.history import evaluate_history

    with reading_only(), RichProgress({"history": "Your searches"}, enabled=not quiet) as progress:
        report = evaluate_history(settings, other_model=model, progress=progress)
    if as_json:
        print_json(report.to_dict())
        return
    table = Table(
        title=f"Your searches: {plural(report.queries, 'query')} with a result you opened or"
        f" marked ({plural(report.searches, 'search')})",
    )
    for column in ("model", "vectors", "mode", "MRR@10", "Hit@10"):
        table.add_column(column, justify="right" if column[0].isupper() else "left")
    for scores in report.models:
        name = scores.model + (" (active)" if scores.active else "")
        for mode, (mrr, hit) in scores.modes.items():
            table.add_row(name, scores.vectors, mode, f"{mrr:.4f}", f"{hit:.4f}")
    stdout.print(table)
    for model, count in report.left_out.items():
        stdout.print(
            f"Left out: {plural(count, 'query')} that {model} was trained on (it would flatter"
            " it).",
            markup=False,
        )
    for scores in report.models:
        if scores.note:
            stdout.print(f"Note: {scores.note}.", markup=False)
    if len(report.models) == 1:
        said = (
            f"{model} is the active model: give --model another one to compare with"
            if model
            else "No other model to compare with: give --model NAME"
        )
        stdout.print(f"{said} (see `localsearch models`).", markup=False)


commands = [eval_command]
