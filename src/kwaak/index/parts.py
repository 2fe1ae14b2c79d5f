"""The pieces an open index is made of, shared by the update pipeline, search and overlays."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kwaak.config import Config
from kwaak.git.trusted import run_tree_git
from kwaak.index.dense import DenseIndex
from kwaak.index.files import canonical
from kwaak.index.languages import LanguageSet
from kwaak.index.lexical import Analyzers, LexicalIndex
from kwaak.index.store import Store
from kwaak.llm.base import Embedder, Model


@dataclass(slots=True, kw_only=True)
class IndexParts:
    """State of one open index."""

    config: Config
    repo_root: Path
    languages: LanguageSet
    analyzers: Analyzers
    lexical: LexicalIndex
    """Chunks."""
    files_lexical: LexicalIndex
    """One document per file (file rankings)."""
    dense: DenseIndex
    store: Store
    embedder: Embedder | None
    model: Model | None
    file_shas: dict[str, str] = field(default_factory=dict)
    """sha256 of each indexed file (to tell an overlay's changed files apart)."""
    base_ref: str | None = None
    """The commit checked out when the index was last updated."""
    dirty: frozenset[str] = frozenset()
    """Files that differed from ``base_ref`` (uncommitted or untracked) at that time."""


async def changed_since(repo: Path, ref: str | None) -> list[str]:
    """Paths that differ between ``ref`` and the working tree of ``repo``, plus untracked files."""
    paths: list[str] = []
    if ref:
        diff = await run_tree_git(repo, "diff", "--name-only", "--no-renames", "--no-ext-diff", "-z", ref, "--")
        paths += [canonical(p) for p in diff.stdout.split("\0") if p]
    untracked = await run_tree_git(repo, "ls-files", "--others", "--exclude-standard", "-z")
    paths += [canonical(p) for p in untracked.stdout.split("\0") if p]
    return list(dict.fromkeys(paths))


async def git_base(repo: Path) -> tuple[str | None, list[str]]:
    """HEAD's commit (``None`` without commits) and the files that differ from it."""
    head = await run_tree_git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    ref = head.stdout.strip() or None
    return ref, await changed_since(repo, ref)
