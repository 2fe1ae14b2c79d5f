"""Run one agent headless, in-process, on a repository, and record everything it did.

Shared by ``eval patch`` and the SWE-bench harness. The agent runs through the real engine
(:class:`kwaak.backend.Backend`): its own worktree and branch, the configured executor and tools,
the session meter. Every event goes to ``trajectory.jsonl`` (the ``run-agent --output jsonl``
stream) and a readable ``agent.log``; the agent's net change (commits, edits and new files since
it started) is returned as a unified diff before its worktree is removed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config import Config
from kwaak.errors import KwaakError
from kwaak.headless.printer import EventPrinter

AGENT_LOG = "agent.log"
TRAJECTORY = "trajectory.jsonl"
TIMEOUT_GRACE_SEC = 5.0
"""At most this long after its wall-time budget a turn is cancelled (a long tool call can overrun it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRun:
    """What one headless agent run produced."""

    status: str
    """The session's final status (``done``, ``failed``, ``budget_exhausted``, ``timeout``...)."""
    ok: bool
    """The chat completed without an error."""
    error: str | None
    error_kind: str | None
    seconds: float
    steps: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    tool_calls: int
    failed_tool_calls: int
    branch: str | None
    diff: str
    """The agent's net change since its start commit (a ``git diff`` with a/ b/ prefixes)."""

    def to_json(self) -> dict[str, object]:
        """The run as a JSON object (without the diff)."""
        data = asdict(self)
        data.pop("diff")
        data["seconds"] = round(self.seconds, 3)
        data["cost_usd"] = round(self.cost_usd, 6)
        return data


class EventLog:
    """A backend listener writing ``agent.log`` (text) and ``trajectory.jsonl`` (one event per line)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._text: TextIO = (directory / AGENT_LOG).open("w", encoding="utf-8")
        self._jsonl: TextIO = (directory / TRAJECTORY).open("w", encoding="utf-8")
        self._printer = EventPrinter(output="text", stream=self._text)
        self.tool_calls = 0
        self.failed_tool_calls = 0

    def __call__(self, event: p.Event) -> None:
        """Record one event."""
        self._jsonl.write(json.dumps(event.to_json(), ensure_ascii=False, default=str) + "\n")
        self._jsonl.flush()
        self._printer(event)
        msg = event.msg
        if isinstance(msg, p.ToolCallFinished):
            self.tool_calls += 1
            if not msg.ok:
                self.failed_tool_calls += 1
                # The preview is one line; a failed edit's full answer is what one needs to read.
                self._text.write("    " + msg.output.replace("\n", "\n    ") + "\n")
                self._text.flush()

    def note(self, text: str) -> None:
        """Add a line of our own to ``agent.log``."""
        self._text.write(f"== {text}\n")
        self._text.flush()

    def close(self) -> None:
        """Close both files."""
        self._text.close()
        self._jsonl.close()


async def run_headless_agent(
    config: Config,
    repo: Path,
    task: str,
    *,
    log_dir: Path,
    timeout: float | None = None,
    models: Models | None = None,
    index: bool = False,
) -> AgentRun:
    """Run one agent on ``task`` in ``repo`` until it stops, fails, or runs out of budget or time.

    Args:
        config: The configuration (use endless mode and a budget: the agent runs unattended).
        repo: The repository the agent works on (in its own worktree; ``repo`` is not touched).
        task: The first user message.
        log_dir: Where ``agent.log`` and ``trajectory.jsonl`` are written.
        timeout: Wall-clock limit in seconds (the turn is cancelled a few seconds after it).
        models: The models (default: built from ``config``).
        index: Index ``repo`` first so the agent gets the initial context and ``explain_code``.
    """
    log = EventLog(log_dir)
    started = time.monotonic()
    try:
        async with Backend(config, repo, models=models, buffer_events=False, persist=False) as backend:
            backend.add_listener(log)
            await backend.start(restore=False)
            if index:
                await _index(backend, log)
            session_id = f"eval-{uuid.uuid4().hex[:12]}"
            completed, timed_out = await _chat(backend, session_id, task, timeout)
            return await _result(backend, session_id, completed, timed_out, log, time.monotonic() - started)
    finally:
        log.close()


async def _index(backend: Backend, log: EventLog) -> None:
    from kwaak.backend.actions import index_repository

    try:
        await index_repository(backend, p.SYSTEM_SESSION)
    except KwaakError as exc:
        log.note(f"continuing without the code index: {exc.render()}")


async def _chat(
    backend: Backend, session_id: str, task: str, timeout: float | None
) -> tuple[p.CommandCompleted | None, bool]:
    submitted = asyncio.ensure_future(backend.run_op(session_id, p.Chat(message=task)))
    try:
        async with asyncio.timeout(None if timeout is None else timeout + _grace(timeout)):
            return await asyncio.shield(submitted), False
    except TimeoutError:
        session = backend.sessions.get(session_id)
        if session is not None:
            await session.stop()
        try:
            return await asyncio.wait_for(submitted, 30), True
        except TimeoutError:
            submitted.cancel()
            return None, True


def _grace(timeout: float) -> float:
    # The budget stops the agent between steps; the grace period only cuts a step that overran.
    return min(TIMEOUT_GRACE_SEC, max(0.5, timeout / 10))


async def _result(
    backend: Backend,
    session_id: str,
    completed: p.CommandCompleted | None,
    timed_out: bool,
    log: EventLog,
    seconds: float,
) -> AgentRun:
    from kwaak.git.diffs import agent_diff

    session = backend.sessions.get(session_id)
    diff = ""
    if session is not None and session.workspace is not None:
        diff = await agent_diff(session.workspace.path, session.workspace.start_ref)
    meter = session.meter if session is not None else None
    status = "timeout" if timed_out else (session.status if session is not None else "failed")
    error = completed.error if completed is not None else "the agent did not finish"
    log.note(f"finished: status={status} steps={meter.steps if meter else 0} seconds={seconds:.1f}")
    return AgentRun(
        status=status,
        ok=completed is not None and completed.ok and not timed_out,
        error=error if not (completed and completed.ok) else None,
        error_kind="timeout" if timed_out else (completed.error_kind if completed else None),
        seconds=seconds,
        steps=meter.steps if meter else 0,
        input_tokens=meter.usage.input_tokens if meter else 0,
        output_tokens=meter.usage.output_tokens if meter else 0,
        cost_usd=meter.usage.cost_usd if meter else 0.0,
        tool_calls=log.tool_calls,
        failed_tool_calls=log.failed_tool_calls,
        branch=session.workspace.branch if session is not None and session.workspace else None,
        diff=diff,
    )


def diff_files(diff: str) -> dict[str, str]:
    """Split a ``git diff`` into ``{path: its diff block}`` (``b/`` side; deleted files by ``a/``)."""
    blocks: dict[str, str] = {}
    current: list[str] = []
    path = ""
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git "):
            if current:
                blocks[path] = "".join(current)
            current, path = [], _block_path(line)
        current.append(line)
    if current:
        blocks[path] = "".join(current)
    return blocks


def _block_path(header: str) -> str:
    # "diff --git a/x b/x": paths with spaces are rare in these repos; take the b/ side.
    rest = header[len("diff --git ") :].rstrip("\n")
    marker = rest.rfind(" b/")
    return rest[marker + 3 :] if marker >= 0 else rest
