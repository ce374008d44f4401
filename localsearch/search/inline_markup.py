"""Markdown and reStructuredText inline markup taken out of text that is shown to a reader.

Chunks keep their source text (so every line maps to the file); snippets and the TUI's preview
show it as the rendered page reads: "see the `Directives`_ and ``:class:`Node```" becomes "see
the Directives and Node". Line by line, never joining or splitting lines, so line numbers stay
true; highlights are found afterwards, in the cleaned text. Code blocks are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from localsearch.language.scripts import CJK_CHARACTERS

# A pattern, its replacement, and a substring the text must hold for the pattern to match
# (checked first: most chunks have no markup of most kinds).
Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str], str]

# Emphasis and strong: the marks touch the text inside and no letter outside (so 2*3*4,
# snake_case and **kwargs in prose stay as they are), other than CJK, written without spaces.
_LETTER = f"[^\\W{CJK_CHARACTERS}]"
_STRONG_EMPHASIS: list[Rule] = [
    (
        re.compile(rf"(?<![*\\])(?<!{_LETTER})\*\*(?=\S)([^*\n]*?\S)\*\*(?!\*)(?!{_LETTER})"),
        r"\1",
        "**",
    ),
    (
        re.compile(rf"(?<![*\\])(?<!{_LETTER})\*(?=[^\s*])([^*\n]*?[^\s*\\])\*(?!\*)(?!{_LETTER})"),
        r"\1",
        "*",
    ),
]

_MARKDOWN: list[Rule] = [
    (re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)"), r"\1", "]("),  # ![alt](src)
    (re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)"), r"\1", "]("),  # [label](url)
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1", "]["),  # [label][ref]
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1", "<"),  # <https://…>
    (re.compile(r"(?<!`)(`+)(?=[^\s`])([^\n]*?[^\s`])\1(?!`)"), r"\2", "`"),  # `code`, ``co`de``
    (re.compile(r"(?<![\w_\\])__(?=\S)([^_\n]*?\S)__(?![\w_])"), r"\1", "__"),
    (re.compile(r"(?<![\w_\\])_(?=[^\s_])([^_\n]*?[^\s_\\])_(?![\w_])"), r"\1", "_"),
    *_STRONG_EMPHASIS,
]

_RST: list[Rule] = [
    # :role:`text <target>` and :role:`text`, either side.
    (re.compile(r":[\w.+-]+:`([^`\n]*?)(?:[ \t]*<[^`>\n]*>)?`"), r"\1", ":`"),
    (re.compile(r"`([^`\n]*?)`:[\w.+-]+:"), r"\1", "`:"),
    (re.compile(r"``(?=\S)([^\n]*?\S)``(?!`)"), r"\1", "``"),  # ``literal``
    (re.compile(r"_`([^`\n]+)`"), r"\1", "_`"),  # _`inline target`
    (re.compile(r"`([^`<\n]*?)[ \t]*(?:<[^>`\n]*>)?`__?(?![\w`])"), r"\1", "`_"),  # `phrase <url>`_
    (re.compile(r"(?<![\w`])`(?=\S)([^`\n]*?\S)`(?![\w`])"), r"\1", "`"),  # `interpreted`
    (re.compile(r"(\[(?:\d+|#[\w-]*|\*|[A-Za-z][\w.-]*)\])_(?!\w)"), r"\1", "]_"),  # [1]_ footnotes
    # A reference name: words joined by single punctuation marks (so __init__ is none).
    (re.compile(r"(?<![\w`.\\])([^\W_]+(?:[-.+:][^\W_]+)*)__?(?![\w])"), r"\1", "_"),
    (re.compile(r"(?<![\w|])\|([^|\s]+)\|(?:__?)?(?![\w|])"), r"\1", "|"),  # |substitution|
    *_STRONG_EMPHASIS,
]

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
# `.. name::` (group 1) and the other explicit markup (comments, targets, footnotes).
_RST_DIRECTIVE = re.compile(r"\.\.(?:\s+([\w:-]+)::|\s|$)")
_VERBATIM_DIRECTIVES = frozenset(
    {"code", "code-block", "sourcecode", "literalinclude", "math", "raw", "highlight", "doctest"}
)


def strip_inline_markup(text: str, doc_type: str) -> str:
    """`text` without the inline markup of its format (md, rst); other types as they are."""
    if doc_type == "md":
        return _clean_markdown(text)
    if doc_type == "rst":
        return _clean_rst(text)
    return text


def _apply(text: str, rules: list[Rule]) -> str:
    """Every rule over `text` (no pattern matches across a line break)."""
    for pattern, replacement, needs in rules:
        if needs in text:
            text = pattern.sub(replacement, text)
    return text


class _Lines:
    """Output lines; runs of prose lines are cleaned together (one regex pass per run)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.out: list[str] = []
        self.prose: list[str] = []

    def verbatim(self, line: str) -> None:
        self._flush()
        self.out.append(line)

    def text(self) -> str:
        self._flush()
        return "\n".join(self.out)

    def _flush(self) -> None:
        if self.prose:
            self.out.append(_apply("\n".join(self.prose), self.rules))
            self.prose = []


def _clean_markdown(text: str) -> str:
    lines = _Lines(_MARKDOWN)
    fence = ""
    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            lines.verbatim(line)
        elif opening:
            fence = opening.group(1)
            lines.verbatim(line)
        elif line.startswith(("    ", "\t")):
            lines.verbatim(line)
        else:
            lines.prose.append(line)
    return lines.text()


def _clean_rst(text: str) -> str:
    """Literal blocks (indented after a paragraph that ends in "::") and the bodies of code
    directives keep their text; so do directive lines themselves (`.. _target: url`)."""
    lines = _Lines(_RST)
    opener_indent: int | None = None  # a line that opens a verbatim block: its indent
    block_indent: int | None = None  # inside a verbatim block: the opener's indent
    for line in text.split("\n"):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                lines.verbatim(line)
                continue
            block_indent = None
        if opener_indent is not None and stripped:
            if indent > opener_indent:
                block_indent, opener_indent = opener_indent, None
                lines.verbatim(line)
                continue
            opener_indent = None
        directive = _RST_DIRECTIVE.match(stripped)
        if directive:
            name = directive.group(1)
            if name in _VERBATIM_DIRECTIVES:
                opener_indent = indent
            elif name:  # `.. note:: Some *text*`: the text after the name is prose
                head, _, rest = line.partition("::")
                line = head + "::" + _apply(rest, _RST)
            lines.verbatim(line)
            continue
        if stripped.endswith("::"):
            opener_indent = indent
        lines.prose.append(line)
    return lines.text()
