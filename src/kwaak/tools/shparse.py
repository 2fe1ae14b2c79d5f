"""Split a shell command line into the simple commands it would run, with their argv (tree-sitter-bash).

Used by the command policy (:mod:`kwaak.tools.policy`). Every ``command`` node anywhere in the
parse tree counts — in lists, pipelines, subshells, ``$(...)``, backticks, process substitution,
conditions and loops. Words are resolved the way the shell would for static text (quotes removed,
backslashes undone); a word whose value depends on the run (``$VAR``, ``$(...)``, globs, brace
expansion) is :data:`DYNAMIC`. Commands that run other commands are unwrapped: ``sh``/``bash``/...
``-c SCRIPT`` and ``eval`` are parsed again, and ``env``, ``sudo``, ``nohup``, ``timeout``,
``xargs``, ``nice``, ``command``, ``exec``, ``time``, ``stdbuf``, ``setsid`` are stripped to the
command they run. Each level is reported, so a rule can match the wrapper or the wrapped command.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass
from typing import Any

DYNAMIC = None
"""An argv word whose value is only known when the shell runs (an expansion, a glob...)."""

Word = str | None
MAX_DEPTH = 6
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"})
_DYNAMIC_NODES = frozenset(
    {"simple_expansion", "expansion", "command_substitution", "process_substitution", "arithmetic_expansion"}
)
_GLOB = re.compile(r"[*?\[]|\{[^}]*,[^}]*\}|\{\w+\.\.\w+\}")
# Options (with a value) of wrappers, and how many positional words precede the wrapped command.
_WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "sudo": (frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-T", "-U", "--user", "--group"}), 0),
    "doas": (frozenset({"-u", "-C"}), 0),
    "nohup": (frozenset(), 0),
    "setsid": (frozenset(), 0),
    "time": (frozenset({"-f", "-o", "--format", "--output"}), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "command": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "xargs": (
        frozenset({"-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a", "--max-args", "--max-procs", "--delimiter"}),
        0,
    ),
}


@dataclass(frozen=True, slots=True)
class Parsed:
    """The simple commands of a command line (each an argv), and whether all of it was understood."""

    commands: tuple[tuple[Word, ...], ...]
    complete: bool
    """False when part of the line could not be parsed, or a nested script was dynamic or too deep."""


def parse(command: str) -> Parsed:
    """Every simple command ``command`` would run (wrappers unwrapped, nested scripts parsed)."""
    out: list[tuple[Word, ...]] = []
    complete = _collect(command, out, depth=0)
    return Parsed(commands=tuple(out), complete=complete)


@functools.cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def _collect(script: str, out: list[tuple[Word, ...]], *, depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    tree = _parser().parse(script.encode("utf-8", errors="surrogateescape"))
    complete = not tree.root_node.has_error
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "command":
            argv = _argv(node)
            if argv:
                complete &= _unwrap(argv, out, depth=depth)
        stack.extend(reversed(node.children))
    return complete


def _argv(node: Any) -> tuple[Word, ...]:
    name = node.child_by_field_name("name")
    if name is None:
        return ()
    words = [_value(name.children[0] if name.type == "command_name" and name.children else name)]
    words += [_value(arg) for arg in node.children_by_field_name("argument")]
    return tuple(words)


def _value(node: Any) -> Word:
    """The static value of a word node, or :data:`DYNAMIC`."""
    kind: str = node.type
    text: str = node.text.decode("utf-8", errors="replace")
    if kind in _DYNAMIC_NODES:
        return DYNAMIC
    if kind == "word":
        return DYNAMIC if _GLOB.search(text) else re.sub(r"\\(.)", r"\1", text.replace("\\\n", ""))
    if kind == "raw_string":
        return text[1:-1]
    if kind == "ansi_c_string":
        try:
            return codecs.decode(text[2:-1], "unicode_escape")
        except UnicodeDecodeError:
            return DYNAMIC
    if kind == "string":
        parts: list[str] = []
        for child in node.children:
            if child.type in _DYNAMIC_NODES:
                return DYNAMIC
            if child.type == "string_content":
                parts.append(re.sub(r"\\([$`\"\\\n])", r"\1", child.text.decode("utf-8", errors="replace")))
        return "".join(parts)
    if kind == "concatenation":
        values = [_value(child) for child in node.children]
        return DYNAMIC if any(v is DYNAMIC for v in values) else "".join(v for v in values if v is not None)
    if kind == "number":
        return text
    return DYNAMIC


def _basename(word: Word) -> Word:
    return word.rsplit("/", 1)[-1] if word else word


def _unwrap(argv: tuple[Word, ...], out: list[tuple[Word, ...]], *, depth: int) -> bool:
    """Record ``argv`` and, for wrappers and shells, the commands it runs; False if some are unknowable."""
    out.append(argv)
    name = _basename(argv[0])
    rest = argv[1:]
    if name is DYNAMIC:
        return False
    if name == "eval":
        if any(w is DYNAMIC for w in rest):
            return False
        return _collect(" ".join(w for w in rest if w is not None), out, depth=depth + 1)
    if name in SHELLS:
        return _shell(rest, out, depth=depth)
    if name == "env":
        return _env(rest, out, depth=depth)
    if name in _WRAPPERS:
        with_value, positionals = _WRAPPERS[name]
        inner = _skip_options(rest, with_value, positionals)
        if inner is None:
            return False
        if name == "xargs" and inner:
            inner = (*inner, DYNAMIC)  # xargs appends words read from stdin
        return _unwrap(inner, out, depth=depth + 1) if inner else True
    return True


def _skip_options(words: tuple[Word, ...], with_value: frozenset[str], positionals: int) -> tuple[Word, ...] | None:
    i = 0
    while i < len(words):
        word = words[i]
        if word is DYNAMIC:
            return None
        if word == "--":
            i += 1
            break
        if not word.startswith("-") or word == "-":
            break
        i += 2 if word in with_value else 1
    i += positionals
    return words[i:] if i <= len(words) else ()


def _env(words: tuple[Word, ...], out: list[tuple[Word, ...]], *, depth: int) -> bool:
    i = 0
    while i < len(words):
        word = words[i]
        if word is DYNAMIC:
            return False
        if word in ("-S", "--split-string") and i + 1 < len(words):
            split = words[i + 1]
            tail = words[i + 2 :]
            if split is DYNAMIC or any(w is DYNAMIC for w in tail):
                return False
            return _collect(" ".join([split, *(w for w in tail if w is not None)]), out, depth=depth + 1)
        if word.startswith(("-S", "--split-string=")):
            return _collect(word.split("=", 1)[1] if word.startswith("--") else word[2:], out, depth=depth + 1)
        if word in ("-u", "--unset", "-C", "--chdir"):
            i += 2
        elif word.startswith("-") or ("=" in word and not word.startswith("=")):
            i += 1
        else:
            break
    inner = words[i:]
    return _unwrap(inner, out, depth=depth + 1) if inner else True


def _shell(words: tuple[Word, ...], out: list[tuple[Word, ...]], *, depth: int) -> bool:
    """``sh [-opts] -c SCRIPT``: parse SCRIPT. A shell reading commands from stdin is unknowable."""
    i = 0
    while i < len(words):
        word = words[i]
        if word is DYNAMIC:
            return False
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            script = words[i + 1] if i + 1 < len(words) else DYNAMIC
            return script is not None and _collect(script, out, depth=depth + 1)
        if word in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if not word.startswith(("-", "+")):
            return True  # `bash script.sh`: a script file (not inspected; see docs/security.md)
        i += 1
    return False  # commands come from stdin (`... | sh`)
