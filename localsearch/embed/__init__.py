"""Encoders behind one small protocol; torch is imported only when a model is loaded."""

from localsearch.embed.encoder import Encoder, format_passage, model_fingerprint

__all__ = ["Encoder", "format_passage", "model_fingerprint"]
