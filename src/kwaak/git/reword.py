"""Commit messages off the critical path: commit at once, reword when the generated message arrives.

With ``git.generate_commit_message`` on, the commit after a step is made at once with the
provisional :data:`~kwaak.git.commit.DEFAULT_MESSAGE`; the message model runs in the background
(concurrently with the agent's next request) and the commit is reworded when its message arrives.
Rewording rewrites the commit object and the commits made on top of it since (same trees, same
author and committer lines, only the message or the parent changes), then moves the branch with a
compare-and-swap ``update-ref``: the worktree and index are untouched because no tree changes.

The agent's worktree is attacker-controlled: if the branch no longer leads linearly from the
provisional commit to ``HEAD`` (the agent reset, merged or rewrote it), the reword is abandoned and
the provisional message stays. If kwaak stops before the message arrives, the provisional message
stays too: nothing is lost. Rewords apply in commit order; all git calls go through
:class:`~kwaak.git.trusted.AgentGit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from kwaak.errors import GitError
from kwaak.git.trusted import AgentGit

log = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("gpgsig", "gpgsig-sha256")
"""Header fields dropped when a commit is rewritten (a signature would no longer verify)."""

Done = Callable[[str, str | None, str | None, bool], Awaitable[None]]
"""Called after each scheduled message: ``(provisional_sha, new_sha or None, message or None, last)``;
``last`` is true when no later message is pending (the branch is final for now: push it)."""


@dataclass(eq=False)
class CommitMessages:
    """The messages being generated for one agent branch, and the lock over its commits."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while committing or rewording, so the two never race on the branch."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _renamed: dict[str, str] = field(default_factory=dict)
    """Old sha -> new sha of every commit a reword rewrote (later rewords follow it)."""

    def pending(self) -> bool:
        """Whether a message is still being generated or applied."""
        return any(not task.done() for task in self._tasks)

    def schedule(self, layout: AgentGit, sha: str, message: Callable[[], Awaitable[str | None]], done: Done) -> None:
        """Generate ``sha``'s message in the background and reword the commit when it arrives."""
        previous = self._tasks[-1] if self._tasks else None
        self._tasks = [task for task in self._tasks if not task.done()]
        task = asyncio.create_task(self._reword(layout, sha, message, done, previous), name=f"reword-{sha[:8]}")
        self._tasks.append(task)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the pending messages (up to ``timeout`` seconds; the rest keep running)."""
        tasks = [task for task in self._tasks if not task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def cancel(self) -> None:
        """Stop generating; commits still pending keep their provisional message."""
        for task in self._tasks:
            task.cancel()

    async def _reword(
        self,
        layout: AgentGit,
        sha: str,
        message: Callable[[], Awaitable[str | None]],
        done: Done,
        previous: asyncio.Task[None] | None,
    ) -> None:
        try:
            text = await message()
            if previous is not None:  # apply in commit order
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.shield(previous)
            new = None
            if text:
                async with self.lock:
                    new = await self._apply(layout, sha, text)
            last = self._tasks[-1] is asyncio.current_task()
            await done(sha, new, text if new else None, last)
        except Exception:  # a background task must not die silently
            log.exception("rewording %s failed, the provisional message stays", sha[:8])

    async def _apply(self, layout: AgentGit, sha: str, text: str) -> str | None:
        target = sha
        while target in self._renamed:
            target = self._renamed[target]
        try:
            renamed = await reword(layout, target, text)
        except GitError as exc:
            log.warning("could not reword %s, the provisional message stays: %s", sha[:8], exc.message)
            return None
        if renamed is None:
            return None
        self._renamed.update(renamed)
        return renamed[target]


async def reword(layout: AgentGit, target: str, message: str) -> dict[str, str] | None:
    """Give ``target`` the ``message`` and rebuild the commits above it on the branch ``HEAD`` names.

    Returns:
        Old sha -> new sha for each rewritten commit, or ``None`` when the branch does not lead
        linearly from ``target`` to ``HEAD`` (or moved meanwhile): then nothing changed.
    """
    head_ref = (await layout.run("symbolic-ref", "--quiet", "HEAD", check=False)).stdout.strip()
    if not head_ref.startswith("refs/heads/"):
        return None
    head = (await layout.run("rev-parse", "--verify", "--quiet", f"{head_ref}^{{commit}}", check=False)).stdout.strip()
    if not head or (await layout.run("merge-base", "--is-ancestor", target, head, check=False)).returncode != 0:
        return None
    above = (await layout.out("rev-list", "--reverse", "--parents", f"{target}..{head}")).splitlines()
    expected_parent = target
    chain: list[str] = []
    for line in above:
        shas = line.split()
        if len(shas) != 2 or shas[1] != expected_parent:  # a merge or a side branch: leave it alone
            return None
        chain.append(shas[0])
        expected_parent = shas[0]
    renamed = {target: await _rewrite(layout, target, message=message)}
    new_head = renamed[target]
    for old in chain:
        new_head = renamed[old] = await _rewrite(layout, old, parent=new_head)
    reason = f"reword: {message.splitlines()[0]}"
    moved = await layout.run("update-ref", "-m", reason, head_ref, new_head, head, check=False)
    return renamed if moved.returncode == 0 else None


async def _rewrite(layout: AgentGit, sha: str, *, message: str | None = None, parent: str | None = None) -> str:
    """Write a copy of commit ``sha`` with a new message and/or parent; its sha."""
    raw = await layout.run("cat-file", "commit", sha)
    if "\ufffd" in raw.stdout:  # not UTF-8: a text round trip would alter the commit
        msg = f"commit {sha[:8]} is not valid UTF-8"
        raise GitError(msg, hint="the provisional commit message stays")
    headers, _, body = raw.stdout.partition("\n\n")
    lines: list[str] = []
    skipping = False
    for line in headers.splitlines():
        if line.startswith(" ") and skipping:
            continue
        skipping = line.split(" ", 1)[0] in SIGNATURE_HEADERS
        if skipping:
            continue
        if parent is not None and line.startswith("parent "):
            line = f"parent {parent}"
        lines.append(line)
    text = "\n".join(lines) + "\n\n" + (message.rstrip("\n") + "\n" if message is not None else body)
    return (await layout.run("hash-object", "-t", "commit", "-w", "--stdin", input_text=text)).stdout.strip()
