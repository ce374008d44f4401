"""Source code and config files: sections at top-level definitions, headed by their signature.

Python gets exact boundaries from `ast` (classes are split at their methods). Every other
language gets one heuristic: a definition starts at column 0 with a keyword such as def, fn,
func, class, struct or impl, or looks like a C-style function head, or is a [section] /
top-level key in config files. Comment lines directly above a definition go with it.
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

from localsearch.ingest.extract import sections_from_lines, shorten
from localsearch.ingest.types import ExtractedDocument

_MODIFIERS = (
    r"(?:(?:export|default|pub(?:\([^)]*\))?|public|private|protected|internal|static|abstract"
    r"|final|sealed|open|override|inline|extern|unsafe|async|const|local|data|case|partial"
    r"|virtual|template\s*<[^>]*>|@\w+(?:\([^)]*\))?)\s+)*"
)
_KEYWORDS = (
    r"(?:def|class|func|fun|fn|function|impl|struct|enum|union|interface|trait|type|typedef|module"
    r"|mod|namespace|object|record|protocol|extension|actor|sub|proc|macro_rules!|defmacro"
    r"|defmodule|defun|defn|CREATE|create)\b"
)
_KEYWORD_DEFINITION = re.compile(_MODIFIERS + _KEYWORDS)
# `int main(int argc, char **argv)`, `static void *foo(void) {`, `foo() {` in shell scripts.
_C_STYLE_FUNCTION = re.compile(r"(?:[\w*&:<>,~]+\s+)*[*&]*[A-Za-z_~][\w:~]*\s*\([^;]*")
_ASSIGNED_FUNCTION = re.compile(
    r"(?:export\s+)?(?:const|let|var)?\s*[\w.$]+\s*(?:=|<-)\s*(?:async\s+)?"
    r"(?:function\b|\([^)]*\)\s*=>|\w+\s*=>)"
)
_NOT_A_DEFINITION = re.compile(r"(?:if|for|while|switch|return|else|do|catch|with|elif)\b")
_INI_SECTION = re.compile(r"\[\[?[^\]]+\]\]?\s*(?:[#;].*)?")
_YAML_KEY = re.compile(r"[\w\"'.-][^:#]*:(?:\s.*)?")
_MAKE_TARGET = re.compile(r"[\w./%$(){}-]+(?:\s+[\w./%$(){}-]+)*\s*::?(?!=).*")
_COMMENT_LINE = re.compile(r"\s*(?:#|//|/\*|\*|--|;|%|\"\"\"|''')")
_CONFIG_SUFFIXES = frozenset({".toml", ".ini", ".cfg", ".conf"})
_YAML_SUFFIXES = frozenset({".yaml", ".yml"})
_NO_STRUCTURE_SUFFIXES = frozenset({".json", ".jsonc", ".xml", ".css", ".scss", ".sass", ".less"})
_HEADING_LIMIT = 80
_LONGEST_DEFINITION_LINE = 300  # longer lines are data (or minified); and regexes stay linear


def extract_code(text: str, path: Path) -> ExtractedDocument:
    lines = text.split("\n")
    suffix = path.suffix.lower()
    boundaries = None
    if suffix in (".py", ".pyi"):
        boundaries = _python_boundaries(text, lines)
    if boundaries is None:
        boundaries = _heuristic_boundaries(lines, suffix, path.name.lower())
    return ExtractedDocument(
        title=path.name, doc_type="code", sections=sections_from_lines(lines, boundaries)
    )


def signature_heading(line: str) -> str:
    """A definition line as a heading: `def f(x):` -> `def f(x)`, `fn main() {` -> `fn main()`."""
    line = line.strip().rstrip("{:").rstrip()
    return shorten(line, _HEADING_LIMIT)


def _python_boundaries(text: str, lines: list[str]) -> list[tuple[int, str]] | None:
    """Top-level functions and classes, and the methods of classes; None if it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes in old code
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    boundaries: list[tuple[int, str]] = []
    for node in tree.body:
        if not isinstance(node, definitions):
            continue
        heading = signature_heading(lines[node.lineno - 1])
        boundaries.append((_first_line(node, lines), heading))
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, definitions):
                    member_heading = signature_heading(lines[member.lineno - 1])
                    boundaries.append((_first_line(member, lines), f"{heading} > {member_heading}"))
    return boundaries


def _first_line(node: ast.stmt, lines: list[str]) -> int:
    """0-based first line of a definition, taking in its decorators and the comments above."""
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)]) - 1
    return _include_comments_above(lines, first)


def _include_comments_above(lines: list[str], first: int) -> int:
    while first > 0 and _COMMENT_LINE.match(lines[first - 1]) and lines[first - 1].strip():
        first -= 1
    return first


def _heuristic_boundaries(lines: list[str], suffix: str, name: str) -> list[tuple[int, str]]:
    if suffix in _NO_STRUCTURE_SUFFIXES:
        return []  # the chunker still splits long files at blank lines
    if suffix in _CONFIG_SUFFIXES:
        is_definition = _INI_SECTION.fullmatch
    elif suffix in _YAML_SUFFIXES:
        is_definition = _YAML_KEY.fullmatch
    elif name in ("makefile", "gnumakefile") or suffix == ".mk":
        is_definition = _MAKE_TARGET.fullmatch
    else:
        is_definition = _looks_like_definition  # type: ignore[assignment]
    boundaries: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        if not line or line[0].isspace() or len(line) > _LONGEST_DEFINITION_LINE:
            continue
        if not is_definition(line.rstrip()):
            continue
        first = _include_comments_above(lines, number)
        if boundaries and first <= boundaries[-1][0]:
            first = number  # a definition right under another one (e.g. a one-line func)
        boundaries.append((first, signature_heading(line)))
    return boundaries


def _looks_like_definition(line: str) -> bool:
    if _NOT_A_DEFINITION.match(line) or line.startswith(("#", "//", "/*", "*", "--")):
        return False
    return bool(
        _KEYWORD_DEFINITION.match(line)
        or _ASSIGNED_FUNCTION.match(line)
        or _C_STYLE_FUNCTION.fullmatch(line)
    )
