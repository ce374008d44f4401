"""Words of Chinese and Japanese text, for BM25, snippets and the query generator.

Chinese is segmented with jieba (search mode: a long word also yields the words inside it, so
"相互依赖" matches a query for "依赖"), Japanese with fugashi and the UniDic-lite dictionary,
anything else in CJK script into overlapping character bigrams as Lucene's CJKAnalyzer does,
and a segmenter that is not installed falls back to bigrams too. Runs of other characters
(English identifiers in a Chinese README) become lower-cased words. Text is NFKC-normalised
first, so full-width "ＡＰＩ" and half-width katakana meet their usual forms.

`analysis_signature()` names what analysed the text, so an index built by another analyser
(a segmenter installed or upgraded since) is rebuilt rather than searched with mismatched words.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import cache

from localsearch.language.scripts import (
    BIGRAM,
    CHINESE,
    CJK_RUN,
    ENGLISH,
    JAPANESE,
    detect_language,
)

# 2: the English fields NFKC-normalised too.
ANALYSIS_VERSION = 2
_OTHER_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_TERM = re.compile(r"^[^\W_]+$", re.UNICODE)

# Function words that every CJK text is full of and no query is about.
CJK_STOPWORDS = frozenset(
    """的 了 是 在 和 与 或 及 也 都 就 而 着 把 被 让 给 对 从 到 为 以 之 其 这 那 这个 那个
    这些 那些 一个 我 你 他 她 它 我们 你们 他们 吗 呢 吧 啊 呀 么 怎么 怎样 什么 如何 为什么
    哪 哪些 哪个 可以 会 能 要 有 没有 不 很 还 又 再 但 但是 如果 因为 所以 并 等 中 里 上 下
    の は が を に で と も や へ か な だ です ます する し さ れ られ た て いる ある あり いう
    こと もの よう これ それ あれ この その あの ここ そこ ない なる から まで より など""".split()
)

_JAPANESE_FUNCTION_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})

_lock = threading.Lock()  # the segmenters initialise lazily and are not all thread-safe


@cache
def _jieba() -> object | None:
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(logging.WARNING)  # it prints "Building prefix dict" otherwise
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@cache
def _fugashi() -> object | None:
    try:
        import fugashi
        import unidic_lite  # noqa: F401 - the dictionary fugashi finds by itself
    except ImportError:
        return None
    return fugashi.Tagger()


def _installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@cache
def analysis_signature() -> str:
    """What analyses CJK text here; part of the BM25 index's state."""
    jieba_version = _installed("jieba")
    fugashi_version = _installed("fugashi")
    unidic_version = _installed("unidic-lite")
    chinese = f"jieba-{jieba_version}" if jieba_version else "bigram"
    japanese = (
        f"fugashi-{fugashi_version}+unidic-lite-{unidic_version}"
        if fugashi_version and unidic_version
        else "bigram"
    )
    return f"v{ANALYSIS_VERSION} zh={chinese} ja={japanese}"


def bigrams(run: str) -> list[str]:
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _segment_chinese(run: str) -> list[str]:
    tokenizer = _jieba()
    if tokenizer is None:
        return bigrams(run)
    with _lock:
        return list(tokenizer.cut_for_search(run))  # type: ignore[attr-defined]


def _segment_japanese(run: str) -> list[str]:
    """Content words in their dictionary form, so "書いた" and "書く" meet; particles,
    auxiliaries and dependent verbs ("できる", "しまう" after another verb) left out."""
    tagger = _fugashi()
    if tagger is None:
        return bigrams(run)
    with _lock:
        words = [
            (word.surface, word.feature.pos1, word.feature.pos2, word.feature.orthBase)
            for word in tagger(run)  # type: ignore[operator]
        ]
    return [
        base or surface
        for surface, pos1, pos2, base in words
        if pos1 not in _JAPANESE_FUNCTION_POS and pos2 != "非自立可能"
    ]


_SEGMENTERS: dict[str, Callable[[str], list[str]]] = {
    CHINESE: _segment_chinese,
    JAPANESE: _segment_japanese,
    BIGRAM: bigrams,
}


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def cjk_terms(text: str, language: str | None = None, *, keep_stopwords: bool = False) -> list[str]:
    """The words of `text` in order: CJK runs segmented by `language`'s analyser (detected
    when not given), other runs as lower-cased words; CJK function words left out."""
    text = normalise(text)
    language = language or detect_language(text)
    segment = _SEGMENTERS.get(language, _SEGMENTERS[CHINESE])
    terms: list[str] = []
    position = 0
    for run in CJK_RUN.finditer(text):
        terms.extend(_OTHER_WORD.findall(text, position, run.start()))
        terms.extend(t for t in segment(run.group()) if _TERM.match(t))
        position = run.end()
    terms.extend(_OTHER_WORD.findall(text, position))
    if keep_stopwords:
        return terms
    return [t for t in terms if t not in CJK_STOPWORDS]


def analysed_text(text: str, language: str) -> str:
    """`text` as space-separated words for a whitespace-tokenised field; "" for English."""
    if language == ENGLISH:
        return ""
    return " ".join(cjk_terms(text, language))
