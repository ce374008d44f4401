"""Language-aware word analysis: which analyser a text needs, and its words."""

from localsearch.language.analysis import analysed_text, analysis_signature, cjk_terms
from localsearch.language.scripts import ENGLISH, LANGUAGES, detect_language, has_cjk

__all__ = [
    "ENGLISH",
    "LANGUAGES",
    "analysed_text",
    "analysis_signature",
    "cjk_terms",
    "detect_language",
    "has_cjk",
]
