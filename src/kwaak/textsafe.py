"""Untrusted text made safe for the user's terminal.

Model text, tool output, file names, titles and error messages can carry terminal control
sequences: OSC 0 sets the window title, OSC 52 writes the clipboard, CSI 2J clears the screen,
C1 codes such as ``\\x9b`` (a one-byte CSI) do the same on some terminals, and bidirectional
overrides reorder what is shown. Everything kwaak prints passes through :func:`escape_controls`
(or :func:`one_line` for titles), which shows such characters as visible escapes (``\\x1b``)
instead of sending them; JSON output goes through :func:`json_safe`.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufff9-\ufffb]")
"""C0 controls but newline and tab, DEL, C1 controls, and bidirectional/annotation controls."""
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufff9-\ufffb\u2028\u2029]")
"""What ``json.dumps(ensure_ascii=False)`` leaves raw (it escapes C0 itself)."""


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character except newline and tab shown as an escape.

    A Windows line ending (``\\r\\n``) becomes a newline; a lone ``\\r`` (which would let text
    overwrite the line before it) is escaped like the rest.
    """
    if not text:
        return text
    return _UNSAFE.sub(_visible, text.replace("\r\n", "\n"))


def one_line(text: str) -> str:
    """``text`` for a single-line place (a title, a table cell): controls escaped, whitespace runs
    (newlines and tabs included) collapsed to one space."""
    return " ".join(escape_controls(text).split())


def json_safe(line: str) -> str:
    """A JSON document with the characters ``json.dumps`` leaves raw escaped as ``\\uXXXX``.

    Only valid inside JSON strings (where such characters can only be), so the document stays
    equal once parsed.
    """
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
