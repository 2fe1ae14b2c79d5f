"""``[workspace] copy``: untracked, git-ignored files copied from the user's checkout into a worktree.

The globs come from the user's configuration, the files from the user's checkout; the destination
is the agent's worktree, which a resumed agent may have filled with symbolic links. So:

* a match (or any file under a matched directory) whose real path leaves the checkout is refused,
  so a ``.env -> ~/.aws/credentials`` link never brings host files into an agent's reach;
* ``.git`` is never copied; only regular files are;
* a file tracked by git, or not git-ignored in the worktree, is skipped: the agent's commits
  would otherwise carry it to the branch (and a push);
* the destination is written with ``O_EXCL | O_NOFOLLOW`` after checking that no directory on its
  way is a symbolic link, and an existing destination is never overwritten;
* the number of files and bytes is bounded.
"""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kwaak.git.trusted import run_tree_git

MAX_FILES = 10_000
MAX_BYTES = 512 * 1024 * 1024
_CHECK_BATCH = 200


@dataclass(slots=True)
class CopyReport:
    """What ``copy`` did: copied paths, and skipped ones with the reason."""

    copied: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _candidates(repo_root: Path, patterns: tuple[str, ...], report: CopyReport) -> list[tuple[str, Path]]:
    """(relative path, real source) of every regular file the patterns match inside the checkout."""
    root = repo_root.resolve()
    found: dict[str, Path] = {}
    for pattern in patterns:
        for match in sorted(root.glob(pattern)):
            rel = match.relative_to(root)
            if ".git" in rel.parts:
                continue
            real = Path(os.path.realpath(match))
            if not _inside(real, root):
                report.skipped.append((str(rel), "a symbolic link leading outside your checkout"))
                continue
            if real.is_dir() and not match.is_symlink():
                _walk(root, rel, found, report)
            elif real.is_file():
                found.setdefault(str(rel), real)
            if len(found) > MAX_FILES:
                break
    return sorted(found.items())


def _walk(root: Path, rel_dir: Path, found: dict[str, Path], report: CopyReport) -> None:
    for dirpath, dirnames, filenames in os.walk(root / rel_dir, followlinks=False):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root)
            real = Path(os.path.realpath(path))
            if not _inside(real, root):
                report.skipped.append((str(rel), "a symbolic link leading outside your checkout"))
            elif real.is_file():
                found.setdefault(str(rel), real)
            if len(found) > MAX_FILES:
                return


async def _ignored(worktree: Path, rels: list[str]) -> set[str]:
    """The paths git ignores in the worktree (tracked files are never reported as ignored)."""
    ignored: set[str] = set()
    for start in range(0, len(rels), _CHECK_BATCH):
        batch = rels[start : start + _CHECK_BATCH]
        result = await run_tree_git(worktree, "check-ignore", "--", *batch)
        ignored.update(line.strip() for line in result.stdout.splitlines() if line.strip())
    return ignored


def _safe_parent(worktree: Path, rel: Path) -> Path | None:
    """Create the destination's parent directories; ``None`` if a symbolic link is on the way."""
    current = worktree
    for part in rel.parts[:-1]:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            current.mkdir()
            continue
        if not stat.S_ISDIR(mode):
            return None
    return current


def _copy_one(source: Path, worktree: Path, rel: str) -> str | None:
    """Copy one file; returns why it was skipped, or ``None``."""
    rel_path = Path(rel)
    parent = _safe_parent(worktree, rel_path)
    if parent is None:
        return "a symbolic link or file in the worktree is in the way"
    target = parent / rel_path.name
    if os.path.lexists(target):
        return "already in the worktree"
    src_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        mode = stat.S_IMODE(os.fstat(src_fd).st_mode)
        dst_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        try:
            while chunk := os.read(src_fd, 1 << 20):
                os.write(dst_fd, chunk)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
    return None


def _copy_all(files: list[tuple[str, Path]], worktree: Path, report: CopyReport) -> None:
    total = 0
    for count, (rel, source) in enumerate(files):
        size = source.stat().st_size
        if count >= MAX_FILES or total + size > MAX_BYTES:
            report.skipped.append((rel, f"over the copy limit ({MAX_FILES} files, {MAX_BYTES >> 20} MB)"))
            continue
        try:
            reason = _copy_one(source, worktree, rel)
        except OSError as exc:
            reason = f"copy failed: {exc.strerror or exc}"
        if reason is None:
            total += size
            report.copied.append(rel)
        else:
            report.skipped.append((rel, reason))


async def copy_into_worktree(repo_root: Path, worktree: Path, patterns: tuple[str, ...]) -> CopyReport:
    """Copy the files ``patterns`` match in ``repo_root`` into ``worktree`` (see the module docstring)."""
    report = CopyReport()
    if not patterns:
        return report
    files = await asyncio.to_thread(_candidates, repo_root, patterns, report)
    if not files:
        if not report.skipped:
            report.skipped.append((", ".join(patterns), "matched no file in your checkout"))
        return report
    ignored = await _ignored(worktree, [rel for rel, _ in files])
    wanted: list[tuple[str, Path]] = []
    for rel, source in files:
        if rel in ignored:
            wanted.append((rel, source))
        elif not os.path.lexists(worktree / rel):
            report.skipped.append((rel, "not git-ignored: the agent's commits would include it (add it to .gitignore)"))
    await asyncio.to_thread(_copy_all, wanted, worktree.resolve(), report)
    return report
