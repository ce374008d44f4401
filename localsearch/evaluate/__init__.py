"""Evaluation on BEIR-format datasets: loading, standard measures, and the eval runner."""

from localsearch.evaluate.beir import BeirDataset, CorpusRecord, load_dataset
from localsearch.evaluate.metrics import MEASURES, evaluate_rankings
from localsearch.evaluate.runner import EvalReport, ModeResult, evaluate

__all__ = [
    "MEASURES",
    "BeirDataset",
    "CorpusRecord",
    "EvalReport",
    "ModeResult",
    "evaluate",
    "evaluate_rankings",
    "load_dataset",
]
