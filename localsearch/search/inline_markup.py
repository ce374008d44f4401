"""Markdown and reStructuredText inline markup taken out of text that is shown to a reader.

Chunks keep their source text (so every line maps to the file); snippets and the TUI's preview
show it as the rendered page reads: "see the `Directives`_ and ``:class:`Node```" becomes "see
the Directives and Node". Line by line, never joining or splitting lines, so line numbers stay
true; highlights are found afterwards, in the cleaned text. Code blocks are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

# Emphasis and strong: the marks touch the text inside and no letter outside (so 2*3*4,
# snake_case and **kwargs in prose stay as they are).
_STRONG_EMPHASIS: list[Rule] = [
    (re.compile(r"(?<![\w*\\])\*\*(?=\S)([^*\n]*?\S)\*\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w*\\])\*(?=[^\s*])([^*\n]*?[^\s*\\])\*(?![\w*])"), r"\1"),
]

_MARKDOWN: list[Rule] = [
    (re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)"), r"\1"),  # ![alt](src)
    (re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)"), r"\1"),  # [label](url)
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1"),  # [label][ref]
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # <https://…>
    (re.compile(r"(?<!`)(`+)(?=[^\s`])([^\n]*?[^\s`])\1(?!`)"), r"\2"),  # `code`, ``co`de``
    (re.compile(r"(?<![\w_\\])__(?=\S)([^_\n]*?\S)__(?![\w_])"), r"\1"),
    (re.compile(r"(?<![\w_\\])_(?=[^\s_])([^_\n]*?[^\s_\\])_(?![\w_])"), r"\1"),
    *_STRONG_EMPHASIS,
]

_RST: list[Rule] = [
    # :role:`text <target>` and :role:`text`, either side.
    (re.compile(r":[\w.+-]+:`([^`\n]*?)(?:\s*<[^`>\n]*>)?`"), r"\1"),
    (re.compile(r"`([^`\n]*?)`:[\w.+-]+:"), r"\1"),
    (re.compile(r"``(?=\S)([^\n]*?\S)``(?!`)"), r"\1"),  # ``literal``
    (re.compile(r"_`([^`\n]+)`"), r"\1"),  # _`inline target`
    (re.compile(r"`([^`<\n]*?)\s*(?:<[^>`\n]*>)?`__?(?![\w`])"), r"\1"),  # `phrase <url>`_
    (re.compile(r"(?<![\w`])`(?=\S)([^`\n]*?\S)`(?![\w`])"), r"\1"),  # `interpreted`
    (re.compile(r"(\[(?:\d+|#[\w-]*|\*|[A-Za-z][\w.-]*)\])_(?!\w)"), r"\1"),  # [1]_ footnotes
    # A reference name: words joined by single punctuation marks (so __init__ is none).
    (re.compile(r"(?<![\w`.\\])([^\W_]+(?:[-.+:][^\W_]+)*)__?(?![\w])"), r"\1"),
    (re.compile(r"(?<![\w|])\|([^|\s]+)\|(?:__?)?(?![\w|])"), r"\1"),  # |substitution|
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


def _apply(line: str, rules: list[Rule]) -> str:
    for pattern, replacement in rules:
        line = pattern.sub(replacement, line)
    return line


def _clean_markdown(text: str) -> str:
    out = []
    fence = ""
    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
        elif opening:
            fence = opening.group(1)
        elif not line.startswith(("    ", "\t")):
            line = _apply(line, _MARKDOWN)
        out.append(line)
    return "\n".join(out)


def _clean_rst(text: str) -> str:
    """Literal blocks (indented after a paragraph that ends in "::") and the bodies of code
    directives keep their text; so do directive lines themselves (`.. _target: url`)."""
    out = []
    opener_indent: int | None = None  # a line that opens a verbatim block: its indent
    block_indent: int | None = None  # inside a verbatim block: the opener's indent
    for line in text.split("\n"):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                out.append(line)
                continue
            block_indent = None
        if opener_indent is not None and stripped:
            if indent > opener_indent:
                block_indent, opener_indent = opener_indent, None
                out.append(line)
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
            out.append(line)
            continue
        if stripped.endswith("::"):
            opener_indent = indent
        out.append(_apply(line, _RST))
    return "\n".join(out)
