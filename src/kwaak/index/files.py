"""Which files of a repository are indexed, read as canonical relative POSIX paths.

``git ls-files --cached --others --exclude-standard`` gives tracked and untracked-but-not-ignored
files, which honours ``.gitignore``, ``.git/info/exclude`` and the global excludes file exactly as
git does. Hidden files and directories, binaries (a NUL byte in the first 8 KiB), files over
``max_file_bytes`` and extensions outside the configured languages are skipped.

Paths are always ``src/x.rs``: never ``./src/x.rs`` or absolute (kwaak 0.16.2 mixed both, so its
garbage collection never matched and stale chunks piled up).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from kwaak.errors import IndexingError
from kwaak.index.languages import MARKDOWN, LanguageSet

FileKind = Literal["code", "test", "doc"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    """A file selected for indexing, with its content."""

    path: str
    """Canonical repository-relative POSIX path."""
    grammar: str
    kind: FileKind
    sha256: str
    mtime: float
    size: int
    text: str


def canonical(path: str | Path) -> str:
    """The canonical form of a repository-relative path: POSIX, no ``./``, no trailing slash."""
    text = str(path).replace("\\", "/")
    parts = [p for p in PurePosixPath(text).parts if p not in (".", "")]
    return "/".join(parts)


def list_candidates(repo: Path) -> list[str]:
    """Tracked plus untracked, not-ignored files of ``repo`` (canonical paths, sorted).

    Raises:
        IndexingError: ``repo`` is not a git work tree or git is missing.
    """
    try:
        proc = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=repo,
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"cannot list the files of {str(repo)!r}: {exc}"
        raise IndexingError(msg, hint="make sure git is installed and on PATH") from exc
    if proc.returncode != 0:
        msg = f"cannot list the files of {str(repo)!r}: {proc.stderr.decode(errors='replace').strip()}"
        raise IndexingError(msg, hint="run kwaak inside a git repository")
    names = {canonical(os.fsdecode(raw)) for raw in proc.stdout.split(b"\0") if raw}
    return sorted(names)


def is_hidden(path: str) -> bool:
    """Whether any component of ``path`` starts with a dot."""
    return any(part.startswith(".") for part in path.split("/"))


def select(paths: Iterable[str], languages: LanguageSet) -> list[tuple[str, str]]:
    """``(path, grammar)`` for each path that is not hidden and has an indexed extension."""
    out: list[tuple[str, str]] = []
    for path in paths:
        if is_hidden(path):
            continue
        grammar = languages.grammar_for(path)
        if grammar is not None:
            out.append((path, grammar))
    return out


_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "testdata", "test_data", "fixtures"})
_TEST_NAME = re.compile(r"^(test_.*|.*_test|.*_tests|.*\.test|.*\.spec|.*_spec|.*Test|.*Tests|conftest)\.[A-Za-z0-9]+$")
_DOC_DIRS = frozenset({"doc", "docs", "documentation"})
_DOC_NAME = re.compile(r"^(changelog|changes|news|history|release[-_]?notes?)\b", re.IGNORECASE)


def classify(path: str, grammar: str) -> FileKind:
    """Whether a file is source code, a test, or documentation (for down-weighting)."""
    parts = path.split("/")
    name = parts[-1]
    if grammar == MARKDOWN or _DOC_NAME.match(name) or any(p.lower() in _DOC_DIRS for p in parts[:-1]):
        return "doc"
    if _TEST_NAME.match(name) or any(p.lower() in _TEST_DIRS for p in parts[:-1]):
        return "test"
    return "code"


class Skip(Exception):
    """The file is not indexable (binary, too big, vanished)."""


def resolves_outside(root: Path, full: Path) -> bool:
    """Whether ``full`` (e.g. a symbolic link, or a path through one) resolves outside ``root``.

    Such files are never read: a repository (or an agent) could otherwise pull any file of the
    machine into the index and from there into search results and provider requests.
    """
    try:
        return not full.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # symlink loops: RuntimeError before 3.13, OSError after
        return True


def read_source(repo: Path, path: str, grammar: str, *, max_bytes: int) -> SourceFile:
    """Read and hash one file.

    Raises:
        Skip: the file vanished, is a binary, exceeds ``max_bytes`` or links outside ``repo``.
        OSError: it could not be read.
    """
    full = repo / path
    if resolves_outside(repo, full):
        msg = "resolves outside the repository"
        raise Skip(msg)
    st = full.stat()
    if st.st_size > max_bytes:
        msg = f"larger than {max_bytes} bytes"
        raise Skip(msg)
    data = full.read_bytes()
    if b"\0" in data[:8192]:
        msg = "binary"
        raise Skip(msg)
    return SourceFile(
        path=path,
        grammar=grammar,
        kind=classify(path, grammar),
        sha256=hashlib.sha256(data).hexdigest(),
        mtime=st.st_mtime,
        size=len(data),
        text=data.decode("utf-8", errors="replace"),
    )
