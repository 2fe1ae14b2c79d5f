"""Getting the user's attention and the clipboard, through the terminal (pure helpers).

* :func:`notification` builds the desktop-notification escape for ``ui.notifications``: OSC 9
  (iTerm2, WezTerm, Windows Terminal, kitty, ghostty) or OSC 777 (``notify;title;body``: foot,
  rxvt-unicode, konsole, VTE terminals). Inside tmux it is wrapped in tmux's passthrough.
* :func:`clipboard_support` tells whether the terminal is known to accept OSC 52 clipboard
  writes, so ``/copy`` only says "Copied" when that is true (otherwise it shows the text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Notifications = Literal["off", "osc9", "osc777"]
_OSC52_PROGRAMS = frozenset({"iTerm.app", "WezTerm", "ghostty", "vscode", "Tabby", "rio"})
_OSC52_TERMS = ("xterm-kitty", "alacritty", "foot", "xterm-ghostty", "wezterm")


def _clean(text: str) -> str:
    """No control characters (they would end the escape sequence early) and no ``;`` for OSC 777."""
    return "".join(ch if ch.isprintable() else " " for ch in text).replace(";", ",")[:200]


def notification(kind: Notifications, title: str, body: str, *, env: Mapping[str, str]) -> str | None:
    """The escape sequence that shows a desktop notification, or ``None`` when turned off."""
    if kind == "off":
        return None
    if kind == "osc9":
        sequence = f"\x1b]9;{_clean(title)}: {_clean(body)}\x07"
    else:
        sequence = f"\x1b]777;notify;{_clean(title)};{_clean(body)}\x07"
    if env.get("TMUX"):
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def clipboard_support(env: Mapping[str, str]) -> bool:
    """Whether the terminal is known to accept OSC 52 clipboard writes (unknown counts as no).

    tmux passes them on only with ``set-clipboard on``, which cannot be checked from here.
    """
    if env.get("TMUX") or env.get("STY"):
        return False
    if env.get("TERM_PROGRAM") in _OSC52_PROGRAMS or env.get("WT_SESSION") or env.get("KITTY_WINDOW_ID"):
        return True
    return env.get("TERM", "").startswith(_OSC52_TERMS)
