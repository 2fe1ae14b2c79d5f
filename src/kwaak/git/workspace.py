"""Per-agent workspaces: a git worktree on its own branch, so the user's checkout is never touched."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import shutil
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kwaak.errors import GitError
from kwaak.git.cli import GitResult, git_out, run_git
from kwaak.git.owner import current_owner, owner_alive
from kwaak.git.trusted import forget, locate, safe_config_args

BRANCH_PREFIX = "kwaak/"
LOCK_REASON_PREFIX = "kwaak session "
_locks: dict[Path, asyncio.Lock] = {}
# Transient failures while another git process works on the same repository: lock files, and a
# sibling worktree's admin files read while `git worktree add` is still writing them.
_LOCK_ERROR = re.compile(
    r"\.lock'?:? File exists|cannot lock ref|Unable to create '[^']*\.lock'|could not lock"
    r"|failed to read \S*worktrees/\S+/(commondir|gitdir|HEAD)",
    re.I,
)
_RETRIES = 8
log = logging.getLogger(__name__)
_Hook = Callable[[], Awaitable[None]]


def _repo_lock(repo: Path) -> asyncio.Lock:
    # git takes lock files (config.lock, refs) while adding worktrees; serialize per repository.
    return _locks.setdefault(repo.resolve(), asyncio.Lock())


def slugify(text: str, *, max_len: int = 30) -> str:
    """kwaak's branch-name cleaning: ASCII, lowercase, non-alphanumerics to ``-``, ≤ ``max_len``."""
    text = text.strip().strip('"').strip("'")[:max_len]
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return re.sub(r"-{2,}", "-", slug) or "agent"


def branch_name(name: str, session_id: str) -> str:
    """``kwaak/<slug>-<first 8 chars of the session id>``."""
    return f"{BRANCH_PREFIX}{slugify(name)}-{session_id.replace('-', '')[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentWorkspace:
    """A worktree for one agent session."""

    repo_root: Path
    """The user's repository."""
    path: Path
    """The worktree directory."""
    branch: str
    start_ref: str
    """The commit the branch started from (base for diffs and ``reset_file``)."""


async def create_workspace(
    repo_root: Path,
    *,
    worktrees_dir: Path,
    branch: str,
    session_id: str,
    start_ref: str = "HEAD",
) -> AgentWorkspace:
    """Create a worktree at ``worktrees_dir/<session_id>`` on a new ``branch`` from ``start_ref``.

    Raises:
        GitError: the repository has no commits, or git failed.
    """
    repo_root = repo_root.resolve()
    sha = (
        await run_git(repo_root, "rev-parse", "--verify", "--quiet", f"{start_ref}^{{commit}}", check=False)
    ).stdout.strip()
    if not sha:
        msg = f"cannot start an agent: {start_ref!r} does not name a commit in {str(repo_root)!r}"
        raise GitError(msg, hint="make an initial commit first (`git commit --allow-empty -m init`)")
    worktrees_dir.mkdir(parents=True, exist_ok=True)
    path = worktrees_dir.resolve() / session_id
    reason = f"{LOCK_REASON_PREFIX}{session_id} owner {current_owner().token()}"
    async with _repo_lock(repo_root):
        if path.exists():
            await remove_workspace_path(repo_root, path)
        add = ("worktree", "add", "--quiet", "--lock", "--reason", reason, "-B", branch, str(path), sha)
        await run_git_retrying(repo_root, *add, before_retry=lambda: _clear_half_made(repo_root, path))
    await asyncio.to_thread(locate, repo_root, path)
    return AgentWorkspace(repo_root=repo_root, path=path, branch=branch, start_ref=sha)


async def resolve_start_ref(repo_root: Path, start_from: str, *, main_branch: str, remote: str) -> str:
    """The ref an agent's branch starts from (``[workspace] start_from``).

    ``head`` is the checkout's HEAD, ``main`` the local ``main_branch``, ``origin`` a fresh
    ``<remote>/<main_branch>``: the branch is fetched first, on the host, from the remote the user
    configured in the repository (agents cannot reach the host's git config or choose the URL).

    Raises:
        GitError: the branch does not exist, or the fetch failed.
    """
    if start_from == "head":
        return "HEAD"
    if start_from == "main":
        ref = f"refs/heads/{main_branch}"
        if not (await run_git(repo_root, "rev-parse", "--verify", "--quiet", ref, check=False)).ok:
            msg = f"cannot start an agent from the main branch: there is no local branch {main_branch!r}"
            raise GitError(msg, hint='set `git.main_branch`, or `[workspace] start_from = "head"`')
        return ref
    if remote.startswith("-") or main_branch.startswith("-"):
        msg = f"invalid remote {remote!r} or main branch {main_branch!r}"
        raise GitError(msg, hint="check `git.remote` and `git.main_branch`")
    tracking = f"refs/remotes/{remote}/{main_branch}"
    refspec = f"+refs/heads/{main_branch}:{tracking}"
    async with _repo_lock(repo_root):
        fetch = (*safe_config_args(), "fetch", "--quiet", "--no-tags", remote, refspec)  # no hooks run
        result = await run_git(repo_root, *fetch, check=False, timeout=300)
    if not result.ok:
        detail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or [""]
        msg = f"cannot start an agent from {remote}/{main_branch}: `git fetch {remote}` failed: {detail[0]}"
        raise GitError(msg, hint='check the remote and network, or set `[workspace] start_from = "head"`')
    return tracking


async def run_git_retrying(repo: Path, *args: str, before_retry: _Hook | None = None) -> GitResult:
    """Run git, retrying with jittered backoff while another process holds one of git's lock files.

    Several kwaak processes (or agents) may add worktrees or move refs in one repository at the
    same time; git then fails fast with "Unable to create '....lock': File exists".

    Raises:
        GitError: the command failed for another reason, or the lock never came free.
    """
    delay = 0.05
    for attempt in range(_RETRIES):
        try:
            return await run_git(repo, *args)
        except GitError as exc:
            if attempt == _RETRIES - 1 or not _LOCK_ERROR.search(exc.stderr or exc.message):
                raise
            log.debug("git lock busy (%s); retrying in %.2fs", exc.stderr.strip(), delay)
        await asyncio.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 2.0)
        if before_retry is not None:
            await before_retry()
    raise AssertionError("unreachable")  # pragma: no cover


async def _clear_half_made(repo_root: Path, path: Path) -> None:
    # A failed `worktree add` may leave the directory behind; the retry needs it gone.
    if path.exists():
        await remove_workspace_path(repo_root, path)


async def restore_workspace(
    workspace: AgentWorkspace, *, session_id: str, recreate_missing: bool = False
) -> AgentWorkspace:
    """Re-create a missing worktree for an existing agent branch (resume after a quit or crash).

    The worktree is locked with this process as owner, like :func:`create_workspace`'s. With
    ``recreate_missing`` (the branch was dropped for having no commits) a missing branch is
    created again at ``start_ref``.

    Raises:
        GitError: the branch no longer exists (and may not be re-created).
    """
    repo = workspace.repo_root
    if (workspace.path / ".git").exists():
        await asyncio.to_thread(locate, repo, workspace.path)
        return workspace
    ref = f"refs/heads/{workspace.branch}"
    path = workspace.path
    target: tuple[str, ...] = (str(path), workspace.branch)
    if not (await run_git(repo, "rev-parse", "--verify", "--quiet", ref, check=False)).ok:
        # An agent branch without commits is dropped when its session ends: start it again.
        start = f"{workspace.start_ref}^{{commit}}"
        is_sha = re.fullmatch(r"[0-9a-f]{7,64}", workspace.start_ref) is not None
        if (
            not recreate_missing
            or not is_sha
            or not (await run_git(repo, "rev-parse", "--verify", "--quiet", start, check=False)).ok
        ):
            msg = f"cannot resume: the agent's branch {workspace.branch!r} no longer exists"
            raise GitError(msg, hint="delete this session and start a new one")
        target = ("-b", workspace.branch, str(path), workspace.start_ref)
    reason = f"{LOCK_REASON_PREFIX}{session_id} owner {current_owner().token()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    async with _repo_lock(repo):
        await remove_workspace_path(repo, path)
        add = ("worktree", "add", "--quiet", "--lock", "--reason", reason, *target)
        await run_git_retrying(repo, *add, before_retry=lambda: _clear_half_made(repo, path))
    await asyncio.to_thread(locate, repo, path)
    return workspace


async def rename_branch(workspace: AgentWorkspace, new_branch: str) -> AgentWorkspace:
    """Rename the workspace's branch (used once the LLM has named it)."""
    if new_branch == workspace.branch:
        return workspace
    async with _repo_lock(workspace.repo_root):
        # From the user's repository, not the worktree (whose git metadata the agent may have touched).
        await run_git_retrying(workspace.repo_root, "branch", "-M", workspace.branch, new_branch)
    return AgentWorkspace(
        repo_root=workspace.repo_root, path=workspace.path, branch=new_branch, start_ref=workspace.start_ref
    )


async def remove_workspace_path(repo_root: Path, path: Path) -> None:
    """Remove a worktree directory and its git bookkeeping (the branch is kept)."""
    await run_git(repo_root, "worktree", "unlock", str(path), check=False)
    await run_git(repo_root, "worktree", "remove", "--force", "--force", str(path), check=False)
    if path.exists():
        await asyncio.to_thread(shutil.rmtree, path, True)
    await run_git(repo_root, "worktree", "prune", check=False)
    forget(path)


async def _never_moved(repo: Path, workspace: AgentWorkspace) -> bool:
    """Whether the agent's branch still points at ``start_ref`` and never pointed anywhere else.

    A branch that had commits which were later undone is kept (its reflog shows them).
    """
    ref = f"refs/heads/{workspace.branch}"
    tip = await run_git(repo, "rev-parse", "--verify", "--quiet", ref, check=False)
    if not tip.ok or tip.stdout.strip() != workspace.start_ref:
        return False
    log = await run_git(repo, "reflog", "show", "--format=%H", ref, "--", check=False)
    return log.ok and set(log.stdout.split()) <= {workspace.start_ref}


async def remove_workspace(
    workspace: AgentWorkspace, *, delete_branch: bool = False, drop_unused_branch: bool = False
) -> bool:
    """Remove the worktree; delete its branch too when asked, or (``drop_unused_branch``) when the
    branch has no commits of its own (still at ``start_ref``), so runs that changed nothing leave
    no empty ``kwaak/*`` branch behind (:func:`restore_workspace` re-creates it if needed).
    Returns whether the branch was deleted."""
    repo = workspace.repo_root
    async with _repo_lock(repo):
        await remove_workspace_path(repo, workspace.path)
        if not delete_branch and drop_unused_branch:
            delete_branch = await _never_moved(repo, workspace)
        if delete_branch:
            await run_git(repo, "branch", "-D", workspace.branch, check=False)
    return delete_branch


async def current_head(repo: Path) -> str:
    """The commit sha of HEAD."""
    return await git_out(repo, "rev-parse", "HEAD")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorktreeInfo:
    """One entry of ``git worktree list --porcelain``."""

    path: Path
    head: str | None
    branch: str | None
    locked_reason: str | None

    @property
    def owner_token(self) -> str | None:
        """The owner token kwaak put in the lock reason, if this is a kwaak worktree."""
        reason = self.locked_reason or ""
        if not reason.startswith(LOCK_REASON_PREFIX) or " owner " not in reason:
            return None
        return reason.rsplit(" owner ", 1)[1].strip()


async def list_worktrees(repo_root: Path) -> list[WorktreeInfo]:
    """All worktrees git knows about in ``repo_root`` (the main checkout first)."""
    out = (await run_git(repo_root, "worktree", "list", "--porcelain")).stdout
    infos: list[WorktreeInfo] = []
    for block in out.strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            fields[key] = value
        if "worktree" in fields:
            infos.append(
                WorktreeInfo(
                    path=Path(fields["worktree"]),
                    head=fields.get("HEAD"),
                    branch=fields.get("branch", "").removeprefix("refs/heads/") or None,
                    locked_reason=fields.get("locked"),
                )
            )
    return infos


def default_worktrees_dir(cache_dir: Path) -> Path:
    """Where agents' worktrees live: ``<cache_dir>/worktrees``."""
    return cache_dir / "worktrees"


async def cleanup_orphans(
    repo_root: Path, worktrees_dir: Path, keep: set[str], *, include_live: bool = False
) -> list[Path]:
    """Remove kwaak worktrees under ``worktrees_dir`` whose session id is not in ``keep``.

    Worktrees still owned by another running kwaak process are left alone unless
    ``include_live``. Stray directories (a crash in the middle of ``worktree add``) are removed
    too, and git's bookkeeping is pruned. Branches are always kept: they hold committed work.

    Args:
        repo_root: The user's repository.
        worktrees_dir: kwaak's worktree directory for this repository.
        keep: Session ids (directory names) or worktree paths that must survive.
        include_live: Also remove worktrees whose owner process still runs.

    Returns:
        The removed worktree paths.
    """
    root = worktrees_dir.resolve()
    kept = set(keep) | {Path(k).name for k in keep if "/" in k}
    removed: list[Path] = []
    async with _repo_lock(repo_root):
        for info in await list_worktrees(repo_root):
            path = info.path.resolve()
            if path.parent != root or path.name in kept:
                continue
            if not include_live and owner_alive(info.owner_token):
                continue
            await remove_workspace_path(repo_root, path)
            removed.append(path)
        removed += await _remove_strays(repo_root, root, kept)
        await run_git(repo_root, "worktree", "prune", check=False)
    return removed


async def _remove_strays(repo_root: Path, root: Path, kept: set[str]) -> list[Path]:
    if not root.is_dir():
        return []
    registered = {info.path.resolve() for info in await list_worktrees(repo_root)}
    strays = [p for p in root.iterdir() if p.is_dir() and p.name not in kept and p.resolve() not in registered]
    for path in strays:
        await asyncio.to_thread(shutil.rmtree, path, True)
    return strays
