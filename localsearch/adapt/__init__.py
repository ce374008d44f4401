"""Fine-tuning the embedder on the user's own files: query generation, negative mining,
training, the held-out gate and model versions. `adapt()` is the entry point."""

from localsearch.adapt.options import AdaptOptions
from localsearch.adapt.pipeline import STAGES, AdaptResult, adapt

__all__ = ["STAGES", "AdaptOptions", "AdaptResult", "adapt"]
