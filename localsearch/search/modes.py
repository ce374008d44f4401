"""The search modes and fusions by name: what the CLI offers without importing the engine."""

MODES = ("hybrid", "bm25", "dense")
FUSIONS = ("rrf", "weighted", "zscore")
