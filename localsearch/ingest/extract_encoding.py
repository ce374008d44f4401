"""Guess the legacy encoding of text that is not UTF-8 (Windows-1252, Shift-JIS, KOI8-R...).

charset-normalizer's own guess is unreliable on the short texts people keep in notes: it reads
French Latin-1 as Baltic cp1257 and Shift-JIS Japanese as GB18030. So every common encoding
that decodes the bytes is scored here with charset-normalizer's mess detector and language
coherence, plus signs of a wrong guess that it misses (symbols or case flips inside words,
half-width katakana, the rare Hangul that Japanese or Chinese bytes make as cp949), with a
small preference for the more common encodings.

Single-byte encodings of related scripts stay ambiguous without a language model: Hungarian,
Turkish or Lithuanian text in its legacy code page may come out as Windows-1252, with a few
accented letters wrong (ő as õ). So do a few words of Korean or simplified Chinese, which
may come out as EUC-JP.
"""

from __future__ import annotations

import codecs
import re
from functools import cache

from charset_normalizer.cd import coherence_ratio
from charset_normalizer.md import mess_ratio

# Most common first; the rank is a small prior that breaks near ties.
CANDIDATE_ENCODINGS = (
    "cp1252", "cp1250", "cp1251", "koi8_r", "iso8859_2", "cp1253", "iso8859_7", "cp1254",
    "cp1255", "cp1256", "cp1257", "cp932", "euc_jp", "gb18030", "big5", "cp949", "mac_roman",
    "latin_1",  # decodes any bytes: the last resort, rejected by the mess threshold if need be
)  # fmt: skip
_JAPANESE = frozenset({"cp932", "euc_jp"})
_CHECK_BYTES = 256 * 1024  # validity is checked on this much; enough to reject most encodings
_SCORE_CHARS = 16 * 1024
_RANK_WEIGHT = 0.004
# Windows-1252 (and its subset Latin-1) is by far the most common legacy encoding; readings of
# Central European or Baltic text as 1252 still come out nearly right, the reverse does not.
_WESTERN_BONUS = 0.03
_COHERENCE_WEIGHT = 0.1  # letter frequencies of some language: Hebrew is not Cyrillic
# CJK and full-width punctuation: between words it is how CJK text is written, not a symbol
# inside a word.
_CJK_PUNCTUATION = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff5b-\uff65]")
_MOST_MESS = 0.5  # above this every reading is noise: the bytes are not text
# Bytes of well-formed multi-byte characters per stray byte, at least, in spoiled UTF-8: the
# cjk-docs corpus in GBK, Shift-JIS or EUC-JP makes at most 1.0, Latin-1 text about 0.
_WELL_FORMED_PER_STRAY = 8


def utf8_despite_stray_bytes(data: bytes) -> str | None:
    """`data` read as UTF-8 with U+FFFD for its few bad bytes, when it is plainly UTF-8 that a
    stray byte (a pasted Windows quote, a cut character) spoiled; None otherwise.

    Without this one bad byte sent a whole UTF-8 file to the legacy guess: accented letters
    came out as mojibake and Chinese as "binary file". Legacy text is not taken for it: its
    non-ASCII bytes rarely form valid UTF-8 sequences (_WELL_FORMED_PER_STRAY).
    """
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd") - data.count("\ufffd".encode())
    ascii_characters = len(text.encode("ascii", errors="ignore"))
    well_formed = len(text.encode()) - ascii_characters - 3 * replaced  # U+FFFD takes 3 bytes
    return text if replaced * _WELL_FORMED_PER_STRAY <= well_formed else None


@cache
def _common_hangul() -> frozenset[str]:
    """The 2,350 syllables of KS X 1001 (EUC-KR) that Korean is written with; Shift-JIS or GBK
    bytes read as cp949 come out as the rare ones only its extension adds ("궞귢궼")."""
    # Python's euc_kr spells the other syllables as 8-byte jamo sequences.
    return frozenset(
        char for code in range(0xAC00, 0xD7A4) if len((char := chr(code)).encode("euc_kr")) == 2
    )


def guess_encoding(data: bytes) -> str | None:
    """The most plausible encoding for `data`, or None if no reading of it looks like text."""
    best: tuple[float, str] | None = None
    for rank, encoding in enumerate(CANDIDATE_ENCODINGS):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            # Not final: a multi-byte character cut at the sample's end is not an error.
            text = decoder.decode(data[:_CHECK_BYTES], final=len(data) <= _CHECK_BYTES)
        except UnicodeDecodeError:
            continue
        score = _implausibility(text[:_SCORE_CHARS], encoding) + rank * _RANK_WEIGHT
        if encoding == "cp1252":
            score -= _WESTERN_BONUS
        if best is None or score < best[0]:
            best = (score, encoding)
    if best is None or best[0] > _MOST_MESS:
        return None
    return best[1]


def _implausibility(text: str, encoding: str) -> float:
    letters = in_word_symbols = case_flips = kana = halfwidth_kana = rare_hangul = 0
    previous = " "
    common_hangul = _common_hangul()
    for index, char in enumerate(text):
        if char.isalpha():
            letters += 1
            if char.isupper() and previous.islower():
                case_flips += 1
            if "\u3040" <= char <= "\u30ff":
                kana += 1
            elif "\uff61" <= char <= "\uff9f":
                halfwidth_kana += 1
            elif "\uac00" <= char <= "\ud7a3" and char not in common_hangul:
                rare_hangul += 1
        elif (
            not char.isspace()
            and not char.isdigit()
            and char not in "'’-."
            and previous.isalpha()
            and index + 1 < len(text)
            and text[index + 1].isalpha()
            and not _CJK_PUNCTUATION.match(char)
        ):
            in_word_symbols += 1  # "Za¿ó³æ": Polish read as cp1252
        previous = char
    letters = max(letters, 1)
    oddities = 2 * in_word_symbols + case_flips + halfwidth_kana + rare_hangul
    score = mess_ratio(text, 1.0) + oddities / letters
    languages = coherence_ratio(text)
    if languages:
        score -= _COHERENCE_WEIGHT * languages[0][1]
    if encoding in _JAPANESE and kana / letters > 0.1:
        score -= 0.2  # kana only come out of Japanese bytes read as Japanese
    return score
