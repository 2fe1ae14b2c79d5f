"""Landing an agent's branch on a base branch: merge, squash or rebase, with plumbing only.

Every command runs in the *user's* repository on explicit refs (never in the agent's worktree,
whose git dir a sandboxed agent can write), with the hardened settings of
:func:`kwaak.git.trusted.safe_config_args` (no hooks, fsmonitor or submodule recursion), so nothing
the agent planted runs. The result commit is built with ``git merge-tree --write-tree``
and ``commit-tree``, and the base ref is moved with ``update-ref <ref> <new> <old>`` (it fails if
someone else moved the base meanwhile).

The user's checkout is touched only when it is on the base branch and clean: then it is moved from
the old base to the new one with ``read-tree -m -u`` (which refuses to overwrite local files).
When the agent's changes include ``.gitattributes`` or ``.gitmodules``, kwaak does not check them
out into the user's checkout (an attribute can name a filter or merge driver that runs commands):
the user is told to switch branches, and landing then only moves the ref. A dirty checkout on the
base is never modified: landing is refused with a hint.

Rebase replays each commit as a three-way merge whose merge base is the commit's parent: a
throw-away commit holding the current tree with that parent is merged with the commit, which is
exactly a cherry-pick, in plumbing that git 2.39 has. A conflict hand-off
(:func:`rebase_for_resolution`) rebases the agent's branch the same way and turns the rest of the
branch from the first conflicting commit on into one commit with markers (trailer
:data:`CONFLICT_TRAILER`); the agent commits its resolution on top, and a rebase or merge landing folds the
two into one commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kwaak.errors import DirtyRepository, GitError, MergeConflict
from kwaak.git.cli import GitResult, run_git
from kwaak.git.trusted import safe_config_args
from kwaak.git.workspace import list_worktrees

LandMode = Literal["merge", "squash", "rebase"]
LAND_MODES: tuple[LandMode, ...] = ("merge", "squash", "rebase")
CONFLICT_TRAILER = "Kwaak-Conflict: unresolved"
"""Marks the commit of a conflict hand-off whose files hold conflict markers."""
_RISKY_PATHS = re.compile(r"(^|/)\.git(attributes|modules)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class LandResult:
    """What landing did."""

    mode: LandMode
    branch: str
    base: str
    old_base: str
    new_base: str
    commits: int
    """Commits the branch had that the base lacked."""
    checkout_updated: bool
    """The user's checkout was on the base and moved with it."""

    def describe(self) -> str:
        """One line for the user."""
        where = "your checkout was updated" if self.checkout_updated else "your checkout was not touched"
        return (
            f"Landed {self.branch} on {self.base} ({self.mode}, {self.commits} commit(s)): "
            f"{self.old_base[:8]} → {self.new_base[:8]}; {where}"
        )


async def git(
    repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None, input_text: str | None = None
) -> GitResult:
    """``git`` with :func:`~kwaak.git.trusted.safe_config_args` (no hooks, fsmonitor, submodules, signing).

    Paths are literal (``GIT_LITERAL_PATHSPECS``): a file the agent named ``:(exclude)x`` is a file.
    """
    full_env = {"GIT_LITERAL_PATHSPECS": "1", **(env or {})}
    return await run_git(repo, *safe_config_args(), *args, check=check, env=full_env, input_text=input_text)


async def out(repo: Path, *args: str, env: dict[str, str] | None = None, input_text: str | None = None) -> str:
    """Stripped stdout of a hardened git command."""
    return (await git(repo, *args, env=env, input_text=input_text)).stdout.strip()


async def commit_of(repo: Path, ref: str, *, what: str) -> str:
    """The commit ``ref`` names.

    Raises:
        GitError: it names no commit.
    """
    result = await git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
    if not result.ok or not result.stdout.strip():
        msg = f"{what} {ref.removeprefix('refs/heads/')!r} does not exist"
        raise GitError(msg, hint="list branches with `git branch`; pick the base with --base")
    return result.stdout.strip()


async def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    """Whether ``older`` is reachable from ``newer``."""
    return (await git(repo, "merge-base", "--is-ancestor", older, newer, check=False)).returncode == 0


async def merge_trees(repo: Path, ours: str, theirs: str) -> tuple[str, tuple[str, ...]]:
    """Merge two commits without a working tree: the result tree and the conflicted paths.

    On conflicts the tree holds the files with conflict markers.
    """
    result = await git(repo, "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs, check=False)
    if result.returncode not in (0, 1):
        msg = f"git merge-tree failed: {result.stderr.strip()}"
        raise GitError(msg, cmd="git merge-tree", stderr=result.stderr)
    lines = result.stdout.splitlines()
    files = tuple(dict.fromkeys(line for line in lines[1:] if line))
    return lines[0].strip(), files if result.returncode == 1 else ()


async def commits_between(repo: Path, base: str, tip: str) -> list[str]:
    """Commits in ``tip`` not in ``base``, oldest first."""
    listed = await out(repo, "rev-list", "--reverse", "--topo-order", f"{base}..{tip}")
    return listed.split()


async def default_squash_message(repo: Path, base: str, tip: str, *, title: str) -> str:
    """A deterministic squash message: the title and the subjects of the squashed commits."""
    subjects = await out(repo, "log", "--reverse", "--format=- %s", f"{base}..{tip}")
    return f"{title}\n\nSquashed commits:\n{subjects}\n" if subjects else f"{title}\n"


async def land(
    repo: Path,
    *,
    branch: str,
    base: str,
    mode: LandMode,
    message: str | None = None,
) -> LandResult:
    """Land ``branch`` on ``base`` (both local branch names) as ``mode``.

    Args:
        repo: The user's repository.
        branch: The agent's branch.
        base: The branch to land on.
        mode: ``merge`` (a merge commit), ``squash`` (one commit) or ``rebase`` (replayed commits).
        message: Commit message for merge and squash (a default is used when ``None``).

    Raises:
        MergeConflict: the branch does not merge cleanly (or a replayed commit conflicts).
        DirtyRepository: the user's checkout is on ``base`` and has uncommitted changes.
        GitError: a branch is missing, there is nothing to land, the base is checked out in another
            worktree, or the base moved while landing.
    """
    base_ref, tip_ref = f"refs/heads/{base}", f"refs/heads/{branch}"
    old = await commit_of(repo, base_ref, what="base branch")
    tip = await commit_of(repo, tip_ref, what="agent branch")
    if await is_ancestor(repo, tip, old):
        msg = f"nothing to land: {base!r} already contains every commit of {branch!r}"
        raise GitError(msg, hint="let the agent make changes first, or pick another base with --base")
    commits = await commits_between(repo, old, tip)
    on_base = await _checkout_on(repo, base)
    await _refuse_markers(repo, old, tip, branch)
    new = await _build(repo, mode, old=old, tip=tip, commits=commits, branch=branch, base=base, message=message)
    if on_base:
        await _move_checkout(repo, old, new, base)
    moved = await git(repo, "update-ref", "-m", f"kwaak: land {branch} ({mode})", base_ref, new, old, check=False)
    if not moved.ok:
        if on_base:
            await git(repo, "read-tree", "-m", "-u", new, old, check=False)
        msg = f"{base!r} moved while landing {branch!r}; nothing was changed"
        raise GitError(msg, hint="land again", stderr=moved.stderr)
    return LandResult(
        mode=mode, branch=branch, base=base, old_base=old, new_base=new, commits=len(commits), checkout_updated=on_base
    )


async def _checkout_on(repo: Path, base: str) -> bool:
    """Whether the user's checkout is on ``base`` (and clean: otherwise refuse)."""
    here = repo.resolve()
    for info in await list_worktrees(repo):
        if info.branch != base:
            continue
        if info.path.resolve() != here:
            msg = f"{base!r} is checked out in another worktree ({info.path})"
            raise GitError(msg, hint="switch that worktree to another branch, or land on another --base")
        status = await out(repo, "status", "--porcelain", "--untracked-files=no")
        if status:
            msg = f"your checkout is on {base!r} and has uncommitted changes; nothing was landed"
            raise DirtyRepository(msg, hint="commit or stash them (or switch branches), then land again")
        return True
    return False


async def _refuse_markers(repo: Path, old: str, tip: str, branch: str) -> None:
    """Refuse to land files the agent left with conflict markers."""
    mb = await out(repo, "merge-base", old, tip)
    changed = (await out(repo, "diff", "--name-only", "--no-renames", "--diff-filter=AM", mb, tip)).splitlines()
    if not changed:
        return
    grep = await git(repo, "grep", "-I", "-l", "-E", r"^(<{7}|>{7})( |$)", tip, "--", *changed, check=False)
    files = [line.split(":", 1)[1] for line in grep.stdout.splitlines() if ":" in line]
    if files:
        msg = f"{branch!r} still has conflict markers in {', '.join(files[:5])}"
        raise MergeConflict(msg, hint="hand the conflict to the agent again, or fix it by hand", files=tuple(files))


async def _build(
    repo: Path,
    mode: LandMode,
    *,
    old: str,
    tip: str,
    commits: list[str],
    branch: str,
    base: str,
    message: str | None,
) -> str:
    if mode == "rebase":
        return await _rebase(repo, old, tip, commits, branch, base)
    tree, conflicts = await merge_trees(repo, old, tip)
    if conflicts:
        raise _conflict(branch, base, conflicts)
    if mode == "merge":
        text = message or f"Merge branch '{branch}' into {base}"
        if await _conflict_commit(repo, commits) is not None:
            # a resolved hand-off: merge the folded history, so no commit with markers is merged
            tip = await _rebase(repo, old, tip, commits, branch, base)
        return await out(repo, "commit-tree", tree, "-p", old, "-p", tip, "-m", text)
    text = message or await default_squash_message(repo, old, tip, title=f"Squashed {branch}")
    return await out(repo, "commit-tree", tree, "-p", old, "-m", text)


async def _rebase(repo: Path, old: str, tip: str, commits: list[str], branch: str, base: str) -> str:
    if await _has_merges(repo, old, tip):
        msg = f"{branch!r} contains merge commits and cannot be rebased"
        raise GitError(msg, hint="land it with --merge or --squash instead")
    folded = await _conflict_commit(repo, commits)
    if folded is None and await is_ancestor(repo, old, tip):
        return tip  # already on top of the base: fast-forward
    current = old
    for commit in commits:
        if commit == folded:  # a resolved hand-off: that commit and the resolution become one
            tree, conflicts = await _pick(repo, current, commit, upto=tip)
            if conflicts:
                raise _conflict(branch, base, conflicts, detail=" (replaying the resolved conflict)")
            text = await _resolved_message(repo, commit)
            return await out(repo, "commit-tree", tree, "-p", current, "-m", text)
        tree, conflicts = await _pick(repo, current, commit)
        if conflicts:
            subject = await out(repo, "log", "-1", "--format=%s", commit)
            raise _conflict(branch, base, conflicts, detail=f" (replaying {commit[:8]} {subject!r})")
        current = await _replay_commit(repo, commit, tree, current)
    return current


async def _pick(repo: Path, onto: str, commit: str, *, upto: str | None = None) -> tuple[str, tuple[str, ...]]:
    """Cherry-pick ``commit`` (with ``upto``: the range ``commit^..upto``) onto ``onto``: a tree and conflicts.

    A throw-away commit holding ``onto``'s tree with ``commit^`` as its parent makes ``commit^`` the
    merge base of the three-way merge.
    """
    parent = await out(repo, "rev-parse", f"{commit}^")
    here = await out(repo, "commit-tree", f"{onto}^{{tree}}", "-p", parent, "-m", "kwaak: replay base")
    return await merge_trees(repo, here, upto or commit)


async def rebase_for_resolution(repo: Path, *, tip: str, base: str, base_name: str) -> tuple[str, tuple[str, ...]]:
    """Rebase the commits of ``tip`` onto ``base`` for a conflict hand-off: a new tip and the conflicted paths.

    Commits that apply cleanly are replayed; from the first conflicting one on, the rest of the
    branch becomes one commit whose files hold conflict markers, marked with
    :data:`CONFLICT_TRAILER` (a later rebase landing folds it and the agent's resolution into one
    commit, so no commit with markers reaches the base). No conflict: the rebased tip and ``()``.

    Raises:
        GitError: the branch contains merge commits.
    """
    if await _has_merges(repo, base, tip):
        msg = "the agent's branch contains merge commits and cannot be rebased for the hand-off"
        raise GitError(msg, hint="land it with --merge or --squash, or resolve the conflict by hand")
    current = base
    for commit in await commits_between(repo, base, tip):
        tree, conflicts = await _pick(repo, current, commit)
        if conflicts:
            tree, conflicts = await _pick(repo, current, commit, upto=tip)
            body = (await git(repo, "log", "-1", "--format=%B", commit)).stdout.rstrip()
            note = f"(rebased onto {base_name} by kwaak; conflicts to resolve in {', '.join(conflicts)})"
            text = f"{body}\n\n{note}\n\n{CONFLICT_TRAILER}\n"
            return await out(repo, "commit-tree", tree, "-p", current, "-F", "-", input_text=text), conflicts
        current = await _replay_commit(repo, commit, tree, current)
    return current, ()


async def _conflict_commit(repo: Path, commits: list[str]) -> str | None:
    """The first commit of a conflict hand-off among ``commits`` (by its trailer), if any."""
    for commit in commits:
        if CONFLICT_TRAILER in (await git(repo, "log", "-1", "--format=%B", commit)).stdout:
            return commit
    return None


async def _resolved_message(repo: Path, commit: str) -> str:
    body = (await git(repo, "log", "-1", "--format=%B", commit)).stdout
    kept = [line for line in body.splitlines() if line != CONFLICT_TRAILER and not line.startswith("(rebased onto ")]
    return "\n".join(kept).strip() + "\n\n(conflicts with the base resolved by the agent)\n"


async def _replay_commit(repo: Path, commit: str, tree: str, parent: str) -> str:
    """A copy of ``commit`` with ``tree`` on ``parent``, keeping its author and message."""
    name, email, date = (await out(repo, "log", "-1", "--format=%an%x00%ae%x00%aI", commit)).split("\0")
    body = (await git(repo, "log", "-1", "--format=%B", commit)).stdout
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date}
    return (await git(repo, "commit-tree", tree, "-p", parent, "-F", "-", env=env, input_text=body)).stdout.strip()


async def _has_merges(repo: Path, old: str, tip: str) -> bool:
    return bool(await out(repo, "rev-list", "--merges", f"{old}..{tip}"))


def _conflict(branch: str, base: str, files: tuple[str, ...], detail: str = "") -> MergeConflict:
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    msg = f"{branch!r} conflicts with {base!r}{detail} in {shown}"
    return MergeConflict(msg, hint="hand the conflict to the agent (/resolve), or land another way", files=files)


async def _move_checkout(repo: Path, old: str, new: str, base: str) -> None:
    """Move the user's clean checkout from ``old`` to ``new`` (refusing agent-chosen attributes)."""
    changed = (await out(repo, "diff", "--name-only", "--no-renames", old, new)).splitlines()
    risky = [path for path in changed if _RISKY_PATHS.search(path)]
    if risky:
        msg = (
            f"the agent changed {', '.join(risky[:3])}; kwaak does not check agent-chosen attributes out into "
            f"your checkout, which is on {base!r}; nothing was landed"
        )
        raise GitError(msg, hint="review them, switch to another branch (`git switch -`) and land again")
    moved = await git(repo, "read-tree", "-m", "-u", old, new, check=False)
    if not moved.ok:
        msg = f"could not update your checkout of {base!r}: {moved.stderr.strip()}"
        raise GitError(msg, hint="move or remove the files named above, then land again", stderr=moved.stderr)
