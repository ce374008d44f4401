"""Cut an ExtractedDocument into passages that fit the embedder, following its structure.

A section that fits becomes one chunk; small neighbours under the same parent heading (and on
the same page) are merged, so that search does not return a lone heading. A long section is
packed paragraph by paragraph up to `max_tokens`, preferring to end a chunk at a paragraph
break; a paragraph is cut into sentences, then lines, then runs of words only where it has to
be (too long alone, or needed to fill a chunk that would be under half full). About
`overlap_tokens` from the end of a chunk open the next one. Chunks never cross a page.

Each paragraph is tokenised once and counts are summed: word-piece counts add up over
whitespace-separated pieces, so a chunk's count is the sum of its pieces' counts.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import NamedTuple

from localsearch.ingest.types import Chunk, ExtractedDocument, Section

# How strongly a break before a unit separates it from the previous one.
_WORDS, _LINE, _SENTENCE, _PARAGRAPH = 0, 1, 2, 3

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s)|[。！？]")
_LINE_BREAK = re.compile(r"\n")
_BATCH_CHARS = 200_000  # texts per tokenizer call are capped so memory stays flat on huge files
_HEADING_SEPARATOR = " > "


class _Unit(NamedTuple):
    """A stretch text[start:end] of a section, with its token count and the break before it."""

    start: int
    end: int
    tokens: int
    strength: int


MAX_DOCUMENT_CHARS = 4_000_000  # about 4,000 chunks: a book, or the start of a huge log


def limit_document(doc: ExtractedDocument, max_chars: int = MAX_DOCUMENT_CHARS) -> int:
    """Cut `doc` in place to its first `max_chars` characters of section text, so that one
    file's chunks, vectors and transaction stay bounded; returns the characters it had."""
    total = sum(len(section.text) for section in doc.sections)
    if total <= max_chars:
        return total
    kept: list[Section] = []
    budget = max_chars
    for section in doc.sections:
        if budget <= 0:
            break
        if len(section.text) > budget:
            section = dataclasses.replace(section, text=section.text[:budget])
        kept.append(section)
        budget -= len(section.text)
    doc.sections[:] = kept
    return total


def limit_and_chunk(
    doc: ExtractedDocument, count_tokens: Callable[[str], int], max_tokens: int, overlap_tokens: int
) -> tuple[int, list[Chunk]]:
    """(the characters `doc` had, its chunks) once cut to MAX_DOCUMENT_CHARS: what the index
    stores of a document, whether a worker process reads it or the index itself."""
    return limit_document(doc), chunk_document(doc, count_tokens, max_tokens, overlap_tokens)


def chunk_document(
    doc: ExtractedDocument,
    count_tokens: Callable[[str], int],
    max_tokens: int = 250,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Passages of at most `max_tokens` tokens (a lone giant "word" excepted), in reading order.

    Chunks never span two pages. start_line/end_line are 1-based and inclusive, counted like the
    sections' start_line (lines of the page's text for PDFs). `count_tokens` may also have a
    `count_batch(texts) -> list[int]` method (see tokens.TokenCounter), which is used if present.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    overlap_tokens = max(0, min(overlap_tokens, max_tokens // 2))
    sections = [s for s in doc.sections if s.text.strip()]
    units = _paragraph_units(sections, count_tokens, max_tokens)

    chunks: list[Chunk] = []
    group: list[int] = []  # indices of small sections waiting to be merged into one chunk
    group_tokens = 0
    for index, section in enumerate(sections):
        if not units[index]:
            continue
        tokens = sum(unit.tokens for unit in units[index])
        if tokens <= max_tokens:
            if group and _can_merge(sections, group, group_tokens, index, tokens, max_tokens):
                group.append(index)
                group_tokens += tokens
                continue
            if group:
                chunks.append(_merged_chunk(sections, units, group))
            group, group_tokens = [index], tokens
            continue
        # A long section; a small group before it (a lone parent heading, say) opens its first
        # chunk instead of making a chunk of its own.
        leads = (
            bool(group)
            and group_tokens < max_tokens // 4
            and _can_merge(sections, group, group_tokens, index, units[index][0].tokens, max_tokens)
        )
        if group and not leads:
            chunks.append(_merged_chunk(sections, units, group))
        spans = _pack(
            units[index],
            section.text,
            count_tokens,
            max_tokens,
            overlap_tokens,
            first_budget=max_tokens - group_tokens if leads else max_tokens,
        )
        newlines = [m.start() for m in _LINE_BREAK.finditer(section.text)]
        section_chunks = [_chunk(section, newlines, start, end) for start, end in spans]
        if leads:
            section_chunks[0] = _joined(_merged_chunk(sections, units, group), section_chunks[0])
        chunks.extend(section_chunks)
        group, group_tokens = [], 0
    if group:
        chunks.append(_merged_chunk(sections, units, group))
    return chunks


def _paragraph_units(
    sections: Sequence[Section], count_tokens: Callable[[str], int], max_tokens: int
) -> list[list[_Unit]]:
    """Every section as paragraph units; a paragraph over max_tokens is cut down until it fits.

    All paragraphs of the document are counted in one batch: the tokenizer is the slow part.
    """
    texts = [section.text for section in sections]
    spans = [_pieces(text, _PARAGRAPH_BREAK, 0, len(text)) for text in texts]
    counts = iter(
        _count_all(
            count_tokens,
            [text[s:e] for text, pieces in zip(texts, spans, strict=True) for s, e in pieces],
        )
    )
    units = [[_Unit(s, e, next(counts), _PARAGRAPH) for s, e in pieces] for pieces in spans]
    for index, section_units in enumerate(units):
        if any(unit.tokens > max_tokens for unit in section_units):
            units[index] = _refine(section_units, sections[index].text, count_tokens, max_tokens)
    return units


def _refine(
    units: list[_Unit],
    text: str,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    level: int = _SENTENCE,
) -> list[_Unit]:
    """Cut units over max_tokens into sentences, then lines, then runs of words, until all fit.

    Only the units over the limit are cut and counted again.
    """
    while any(unit.tokens > max_tokens and unit.end - unit.start > 1 for unit in units):
        refined: list[_Unit] = []
        spans: list[tuple[int, int, int]] = []
        for unit in units:
            if unit.tokens <= max_tokens or unit.end - unit.start <= 1:
                refined.append(unit)
                continue
            pieces = _split(unit, text, max_tokens, level)
            if pieces == [(unit.start, unit.end)]:
                refined.append(unit)  # nothing to cut at this level; its count still holds
                continue
            for number, (start, end) in enumerate(pieces):
                spans.append((len(refined), start, end))
                refined.append(_Unit(start, end, -1, unit.strength if number == 0 else level))
        counts = _count_all(count_tokens, [text[start:end] for _, start, end in spans])
        for (position, _, _), tokens in zip(spans, counts, strict=True):
            refined[position] = refined[position]._replace(tokens=tokens)
        units = refined
        level = max(level - 1, _WORDS)
    return units


def _split(unit: _Unit, text: str, max_tokens: int, level: int) -> list[tuple[int, int]]:
    if level == _SENTENCE:
        return _pieces(text, _SENTENCE_END, unit.start, unit.end)
    if level == _LINE:
        return _pieces(text, _LINE_BREAK, unit.start, unit.end)
    # Runs sized by this unit's own characters per token, a little under the limit.
    chars = (unit.end - unit.start) * max_tokens * 9 // (unit.tokens * 10)
    return _word_runs(text, unit.start, unit.end, max(1, chars))


def _pieces(text: str, separator: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """Spans of text[start:end] cut after each separator match, stripped, empty ones dropped."""
    spans = []
    for match in separator.finditer(text, start, end):
        spans.append(_strip(text, start, match.end()))
        start = match.end()
    spans.append(_strip(text, start, end))
    return [(s, e) for s, e in spans if e > s]


def _word_runs(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Runs of whole words of about max_chars characters; a longer word is cut by characters."""
    runs: list[tuple[int, int]] = []
    run_start = run_end = -1
    for word in re.finditer(r"\S+", text[start:end]):
        word_start, word_end = start + word.start(), start + word.end()
        if word_end - word_start > max_chars:
            if run_start >= 0:
                runs.append((run_start, run_end))
                run_start = -1
            runs.extend(
                (s, min(s + max_chars, word_end)) for s in range(word_start, word_end, max_chars)
            )
        elif run_start >= 0 and word_end - run_start > max_chars:
            runs.append((run_start, run_end))
            run_start, run_end = word_start, word_end
        else:
            run_start = word_start if run_start < 0 else run_start
            run_end = word_end
    if run_start >= 0:
        runs.append((run_start, run_end))
    return runs


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _count_all(count_tokens: Callable[[str], int], texts: list[str]) -> list[int]:
    batch = getattr(count_tokens, "count_batch", None)
    if batch is None:
        return [count_tokens(text) for text in texts]
    counts: list[int] = []
    first = size = 0
    for index, text in enumerate(texts):
        size += len(text)
        if size >= _BATCH_CHARS:
            counts.extend(batch(texts[first : index + 1]))
            first, size = index + 1, 0
    counts.extend(batch(texts[first:]))
    return counts


def _pack(
    units: list[_Unit],
    text: str,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    overlap_tokens: int,
    first_budget: int,
) -> list[tuple[int, int]]:
    """Character spans of the chunks of one long section, with overlap between neighbours.

    The first chunk holds at most `first_budget` tokens (room is kept for text put before it).
    """
    units = list(units)  # paragraphs may be cut into sentences below
    spans: list[tuple[int, int]] = []
    carry: _Unit | None = None  # the overlap: tail of the previous chunk that opens the next
    first = 0
    while first < len(units):
        budget = max_tokens if spans else first_budget
        total = carry.tokens if carry else 0
        end = first
        while True:
            while end < len(units) and total + units[end].tokens <= budget:
                total += units[end].tokens
                end += 1
            if end == first or end >= len(units) or total * 2 >= budget:
                break
            # Under half full and the next paragraph does not fit: take some of its sentences.
            finer = _finer(units[end], text, count_tokens)
            if len(finer) == 1:
                break
            units[end : end + 1] = finer
        if end == first:
            end = first + 1  # a unit that alone exceeds max_tokens: a single giant "word"
        elif end < len(units):
            end = _best_end(units, first, end, total, budget)
        spans.append((carry.start if carry else units[first].start, units[end - 1].end))
        if end >= len(units):
            break
        first, carry = _overlap(units, first, end, text, count_tokens, overlap_tokens, max_tokens)
    return spans


def _finer(unit: _Unit, text: str, count_tokens: Callable[[str], int]) -> list[_Unit]:
    """`unit` cut into counted sentences, else lines; [unit] when it is a single line."""
    for separator, strength in ((_SENTENCE_END, _SENTENCE), (_LINE_BREAK, _LINE)):
        pieces = _pieces(text, separator, unit.start, unit.end)
        if len(pieces) > 1:
            counts = _count_all(count_tokens, [text[start:end] for start, end in pieces])
            return [
                _Unit(start, end, tokens, unit.strength if number == 0 else strength)
                for number, ((start, end), tokens) in enumerate(zip(pieces, counts, strict=True))
            ]
    return [unit]


def _best_end(units: list[_Unit], first: int, end: int, total: int, max_tokens: int) -> int:
    """Move a full chunk's end back to the strongest break that keeps it at least half full."""
    best, best_strength = end, units[end].strength
    tokens = total
    for candidate in range(end - 1, first, -1):
        tokens -= units[candidate].tokens
        if tokens < max_tokens // 2:
            break
        if units[candidate].strength > best_strength:
            best, best_strength = candidate, units[candidate].strength
    return best


def _overlap(
    units: list[_Unit],
    first: int,
    end: int,
    text: str,
    count_tokens: Callable[[str], int],
    overlap_tokens: int,
    max_tokens: int,
) -> tuple[int, _Unit | None]:
    """Where the chunk after units[first:end] starts: (first whole unit, partial unit before it).

    About overlap_tokens from the end of the previous chunk are repeated, whole sentences when
    they are short enough, else topped up with the last words of a sentence; room is always
    left for units[end], so that every chunk brings something new.
    """
    budget = min(overlap_tokens, max_tokens - units[end].tokens)
    if budget * 2 < overlap_tokens:
        return end, None  # a sliver of overlap would only add noise
    start, tokens = end, 0
    while start - 1 > first and tokens + units[start - 1].tokens <= budget:
        start -= 1
        tokens += units[start].tokens
    if tokens * 2 >= budget:
        return start, None
    return start, _tail(units[start - 1], text, count_tokens, budget - tokens)


def _tail(unit: _Unit, text: str, count_tokens: Callable[[str], int], budget: int) -> _Unit | None:
    """The longest run of last words of `unit` within `budget` tokens (a few guesses), or None."""
    if unit.tokens <= budget:
        return unit
    chars = int(budget * (unit.end - unit.start) / unit.tokens)
    for _ in range(3):
        start = _word_start_at_or_after(text, unit.end - chars, unit.end)
        if start >= unit.end:
            return None
        tokens = count_tokens(text[start : unit.end])
        if tokens <= budget:
            return _Unit(start, unit.end, tokens, _WORDS)
        chars = int(chars * budget / tokens * 0.9)
    return None


def _word_start_at_or_after(text: str, position: int, limit: int) -> int:
    if position > 0 and not text[position - 1].isspace():
        while position < limit and not text[position].isspace():
            position += 1
    while position < limit and text[position].isspace():
        position += 1
    return position


def _can_merge(
    sections: Sequence[Section],
    group: list[int],
    group_tokens: int,
    index: int,
    tokens: int,
    max_tokens: int,
) -> bool:
    """Whether `tokens` of section `index` may share a chunk with the pending small group."""
    section, neighbour = sections[index], sections[group[-1]]
    if section.page != neighbour.page or group_tokens + tokens > max_tokens:
        return False
    small = max_tokens // 4
    if group_tokens >= small and tokens >= small:
        return False  # both are fine chunks on their own
    # Related: a shared parent, or one side is top-level (or before any heading). Sections deep
    # in two different parts of the document stay apart.
    return bool(_common_heading([neighbour.heading, section.heading])) or not (
        _HEADING_SEPARATOR in neighbour.heading and _HEADING_SEPARATOR in section.heading
    )


def _merged_chunk(sections: Sequence[Section], units: list[list[_Unit]], group: list[int]) -> Chunk:
    """One chunk of whole small sections, headed by their common parent heading, if they have
    one, else by the heading of the one with the most text."""
    spans = [(units[i][0].start, units[i][-1].end) for i in group]
    texts = [sections[i].text[s:e] for i, (s, e) in zip(group, spans, strict=True)]
    first, last = sections[group[0]], sections[group[-1]]
    heading = _common_heading([sections[i].heading for i in group])
    if not heading:
        biggest = max(group, key=lambda i: (sum(u.tokens for u in units[i]), -i))
        heading = sections[biggest].heading
    return Chunk(
        text="\n\n".join(texts),
        heading=heading,
        page=first.page,
        start_line=_line(first, first.text.count("\n", 0, spans[0][0])),
        end_line=_line(last, last.text.count("\n", 0, spans[-1][1] - 1)),
    )


def _joined(lead: Chunk, chunk: Chunk) -> Chunk:
    """`lead` put in front of `chunk`, which keeps its own (deeper) heading."""
    return Chunk(
        text=f"{lead.text}\n\n{chunk.text}",
        heading=chunk.heading or lead.heading,
        page=chunk.page,
        start_line=lead.start_line,
        end_line=chunk.end_line,
    )


def _chunk(section: Section, newlines: list[int], start: int, end: int) -> Chunk:
    """The chunk section.text[start:end]; `newlines` are the offsets of "\\n" in section.text."""
    return Chunk(
        text=section.text[start:end],
        heading=section.heading,
        page=section.page,
        start_line=_line(section, bisect_right(newlines, start - 1)),
        end_line=_line(section, bisect_right(newlines, end - 2)),
    )


def _line(section: Section, newlines_before: int) -> int:
    """The source line of a point in section.text that has `newlines_before` line breaks
    before it."""
    line = section.start_line + newlines_before
    return line if section.last_line is None else min(line, section.last_line)


def _common_heading(headings: list[str]) -> str:
    """The longest shared leading path: ["A > B", "A > C"] -> "A"."""
    paths = [h.split(_HEADING_SEPARATOR) if h else [] for h in headings]
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if any(part != parts[0] for part in parts):
            break
        common.append(parts[0])
    return _HEADING_SEPARATOR.join(common)
