"""Which writing systems a text uses, and so which analyser its words need.

Chinese and Japanese are written without spaces between words; a text is classed by its CJK
characters alone, so English identifiers in a Chinese README do not make it English. Kana
(hiragana, katakana) only occur in Japanese; Hangul only in Korean, which gets the
dictionary-free bigram analyser.
"""

from __future__ import annotations

import re

ENGLISH = "en"
CHINESE = "zh"
JAPANESE = "ja"
BIGRAM = "cjk"  # any other CJK text: overlapping character bigrams
LANGUAGES = (ENGLISH, CHINESE, JAPANESE, BIGRAM)

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = "\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
CJK_CHARACTERS = f"{_HAN}{_KANA}{_HANGUL}"  # the inside of a regex character class
CJK_RUN = re.compile(f"[{CJK_CHARACTERS}]+")
_HAN_CHAR = re.compile(f"[{_HAN}]")
_KANA_CHAR = re.compile(f"[{_KANA}]")
_HANGUL_CHAR = re.compile(f"[{_HANGUL}]")
# A Chinese text quoting a Japanese name has a few kana; a Japanese one is full of them.
_KANA_SHARE_FOR_JAPANESE = 0.05


def is_cjk(char: str) -> bool:
    return bool(CJK_RUN.match(char))


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None


def detect_language(text: str) -> str:
    """ENGLISH for text without CJK characters (any alphabet: it keeps the stemmed fields),
    else the analyser its CJK characters call for."""
    if text.isascii():  # most English chunks: a C loop, not three regex passes (~14 us)
        return ENGLISH
    han = len(_HAN_CHAR.findall(text))
    kana = len(_KANA_CHAR.findall(text))
    hangul = len(_HANGUL_CHAR.findall(text))
    if han + kana + hangul == 0:
        return ENGLISH
    if hangul > han + kana:
        return BIGRAM
    if kana and kana >= _KANA_SHARE_FOR_JAPANESE * (han + kana):
        return JAPANESE
    return CHINESE
