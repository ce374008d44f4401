"""Fine-tuning the embedder on the user's own files: query generation, negative mining,
training, the held-out gate and model versions. `adapt()` is the entry point."""

from localsearch.adapt.pipeline import STAGES, AdaptOptions, AdaptResult, adapt

__all__ = ["STAGES", "AdaptOptions", "AdaptResult", "adapt"]
