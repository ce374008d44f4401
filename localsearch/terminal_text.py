"""Text made safe to print: document text and file names never drive the terminal.

Its own module, free of rich and textual, because `search` prints plain lines into pipes
without loading rich, and the CLI's rich console (cli/output.py) and the TUI use the same rules.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls but tab and newline, DEL and C1 controls: what a terminal acts on rather than shows;
# and the bidirectional embeddings, overrides and isolates, which reorder what is shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JSON_UNESCAPED_CONTROL = re.compile(r"[\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the control picture: ESC shows as ␛
    return "\u2421" if code == 0x7F else "\ufffd"


def terminal_safe(text: str) -> str:
    """`text` with every control character shown as one visible character, so nothing in a
    document or file name can drive the terminal and highlight offsets stay where they were.
    Lone surrogates (bytes of a name that is not UTF-8) show as "?"."""
    text = _CONTROL.sub(_visible, text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def one_line(text: str) -> str:
    """terminal_safe(text) with newlines shown as ␊ too: a file name printed inside a line of
    output cannot start a line of its own (a fake result, a fake "skipped" line)."""
    return terminal_safe(text).replace("\n", "\u240a")


def safe_json(data: Any) -> str:
    """Indented JSON; json escapes C0 controls itself, DEL and C1 (0x9b is a CSI) it leaves."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _JSON_UNESCAPED_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
