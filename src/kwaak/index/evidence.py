"""What an issue report says about code, apart from its prose.

Real issue reports are long: a title, prose, code blocks, tracebacks, error lines, version dumps,
pasted output. Searched as one bag of words, the dumps and logs dilute the query. This module
splits a query into

* ``frames``: file paths from traceback frames (Python's ``File "…", line N, in f``, IPython's
  ``~/…/x.py in f(…)`` and ``File ~/…/x.py:41, in f``) with their function names, innermost last;
* ``paths``: other path-shaped strings (``src/app/config.py``);
* ``modules``: dotted names (``astropy.io.ascii``, ``format="ascii.rst"``);
* ``identifiers``: code-shaped names (``snake_case``, ``CamelCase``, ``foo()``, anything in
  backticks, names in code blocks and error lines, frame functions);
* ``errors``: exception class names (``TypeError``, ``LinAlgError``);
* ``phrases``: quoted strings and error messages, for exact-phrase matching;
* ``prose``: the text for keyword search, without tracebacks, version dumps, tables and reprs;
* ``title``: the first line.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PY_FRAME = re.compile(r'File "([^"]+)", line \d+(?:, in ([\w.<>]+))?')
_IPY_FRAME = re.compile(r"File (~?[^\s,:]+\.py)(?::\d+)?, in ([\w.<>]+)|(~?/[^\s]+\.py) in ([\w<>]+)")
_PATH = re.compile(r"(?<![\w/.~-])((?:[\w.-]+/)+[\w.-]+\.(?:py|pyx|pyi|rs|go|js|jsx|ts|tsx|rb|java|c|h|cc|cpp|hpp))\b")
_BARE_FILE = re.compile(r"(?<![\w/.-])([A-Za-z_][\w-]*\.(?:py|pyx|rs|go|js|ts|tsx|rb|java))\b")
_DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w(])")
_BACKTICK = re.compile(r"`([^`\n]{1,200})`")
_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?([A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt))\s*:\s*(.+?)\s*$", re.M)
_ERROR_NAME = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Warning))\b")
_QUOTED = re.compile(r"""(?<![\w\\])(["'])((?:(?!\1)[^\n\\]){8,160})\1""")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE_SHAPE = re.compile(r"[a-z][A-Z]|[A-Za-z0-9]_[A-Za-z0-9]|^_[A-Za-z]|^[A-Z][a-z0-9]+[A-Z]|\w\.__?\w|__\w+__")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")
_NOISE_LINE = re.compile(
    r"""^\s*(?:
        [-=_*~#|+]{3,}.*                                   # rules and table borders
      | (?:Traceback\ \(most\ recent\ call\ last\)|During\ handling\ of).*
      | (?:->|-->|\d+)\s.*                                 # IPython source lines
      | File\ .*                                           # frames (already taken apart)
      | \^+\s*                                             # caret markers
      | [\w.\-\[\]]+\s*(?:==|:|=|\s)\s*v?\d+(?:\.\d+)+\S*\s*  # version dumps: numpy==1.2.3, Python: 3.9.1
      | (?:Python|python|Platform|platform|OS|System|Linux|Darwin|Windows)\b.*\d+\.\d+.*
      | .*<[\w.]+\ object\ at\ 0x[0-9a-f]+>.*              # reprs
      | [\s\d.,eE+\-\[\]()]+                              # numbers and arrays
    )$""",
    re.X,
)
_STOP_DOTTED = frozenset({"e.g", "i.e", "etc", "vs"})


@dataclass(frozen=True, slots=True)
class Frame:
    """One traceback frame."""

    path: str
    function: str = ""


@dataclass(slots=True)
class Evidence:
    """The code-shaped evidence of a query (see the module docstring)."""

    title: str = ""
    prose: str = ""
    frames: list[Frame] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)

    @property
    def is_long(self) -> bool:
        """An issue report rather than a short question (several lines, or many words)."""
        return self.prose.count("\n") >= 2 or len(self.prose.split()) > 40


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _frames(text: str) -> list[Frame]:
    found: list[tuple[int, Frame]] = []
    for m in _PY_FRAME.finditer(text):
        found.append((m.start(), Frame(m.group(1), (m.group(2) or "").rsplit(".", 1)[-1])))
    for m in _IPY_FRAME.finditer(text):
        path, function = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        found.append((m.start(), Frame(path, function.rsplit(".", 1)[-1])))
    found.sort(key=lambda item: item[0])
    return [f for _, f in found if not f.path.startswith("<")]


def _is_code_shaped(word: str) -> bool:
    return bool(_CODE_SHAPE.search(word))


def _identifiers(text: str, frames: list[Frame], fences: list[str]) -> list[str]:
    names: list[str] = []
    for quoted in _BACKTICK.findall(text):
        names += _IDENT.findall(quoted)
    names += [f.function for f in frames if f.function and not f.function.startswith("<")]
    for block in fences:
        names += [w for w in _IDENT.findall(block) if _is_code_shaped(w)]
        names += _CALL.findall(block)
    for word in re.findall(r"[\w.()]+", text):
        core = word.strip(".,;:!?()")
        if _is_code_shaped(core) and not re.fullmatch(r"[\d._]+", core):
            names += _IDENT.findall(core)
    names += _CALL.findall(text)
    return _unique([n for n in names if len(n) > 2 and not n.isdigit()])


def _prose(text: str) -> str:
    lines = [line for line in text.splitlines() if not _NOISE_LINE.match(line)]
    return "\n".join(lines)


def extract(query: str) -> Evidence:
    """Take ``query`` apart."""
    text = query.replace("\r\n", "\n")
    title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    frames = _frames(text)
    fences = _FENCE.findall(text)
    frame_paths = {f.path for f in frames}
    paths = [p for p in _PATH.findall(text) if p not in frame_paths and not any(p in fp for fp in frame_paths)]
    paths += _BARE_FILE.findall(text)
    modules = [
        d
        for d in _DOTTED.findall(text)
        if d.lower() not in _STOP_DOTTED and not re.search(r"\.(?:py|com|org|net|edu|gov)$", d)
    ]
    error_lines = _ERROR_LINE.findall(text)
    errors = _unique([name for name, _ in error_lines] + _ERROR_NAME.findall(text))
    phrases = [message for _, message in error_lines if len(message.split()) >= 3]
    phrases += [q for _, q in _QUOTED.findall(text) if len(q.split()) >= 3]
    return Evidence(
        title=title,
        prose=_prose(text),
        frames=frames,
        paths=_unique(paths),
        modules=_unique(modules),
        identifiers=_identifiers(text, frames, fences),
        errors=errors,
        phrases=_unique([p.strip() for p in phrases])[:10],
    )


def path_suffixes(path: str) -> list[str]:
    """The suffixes of a path from its last two components outwards (``a/b/c.py`` → ``b/c.py``, ``a/b/c.py``)."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..", "~")]
    return ["/".join(parts[i:]) for i in range(len(parts) - 2, -1, -1)] if len(parts) >= 2 else parts


def module_paths(dotted: str) -> list[str]:
    """Path suffixes a dotted name may refer to: ``a.b.c`` → ``a/b/c.py``, ``a/b/c/__init__.py``, ``a/b.py``."""
    parts = dotted.split(".")
    out: list[str] = []
    for end in range(len(parts), 0, -1):
        stem = "/".join(parts[:end])
        if end >= 2 or len(parts) == 1:
            out += [f"{stem}.py", f"{stem}/__init__.py"]
    return out
