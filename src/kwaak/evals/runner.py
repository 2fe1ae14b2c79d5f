"""Run one agent headless, in-process, on a repository, and record everything it did.

Shared by ``eval patch`` and the SWE-bench harness. The agent runs through the real engine
(:class:`kwaak.headless.runner.HeadlessRunner`, like ``run-agent``): its own worktree and branch,
the configured executor and tools, the session meter. Every event goes to ``trajectory.jsonl``
(the ``run-agent --output jsonl`` stream) and a readable ``agent.log``; the agent's net change
(commits, edits and new files since it started) is returned as a unified diff before its worktree is removed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.headless.printer import EventPrinter
from kwaak.headless.runner import AgentJob, HeadlessRunner, collect_events

if TYPE_CHECKING:
    from kwaak.backend import Backend, Models

AGENT_LOG = "agent.log"
TRAJECTORY = "trajectory.jsonl"


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
        timeout: Wall-clock limit in seconds (the agent's wall-time budget: a running tool call is cut).
        models: The models (default: built from ``config``).
        index: Index ``repo`` first so the agent gets the initial context and ``explain_code``.
    """
    log = EventLog(log_dir)
    session_id = f"eval-{uuid.uuid4().hex[:12]}"
    runner = HeadlessRunner(config, repo, models=models, persist=False, index=index, listeners=[log], warn=log.note)
    diff: list[str] = []

    async def take_diff(backend: Backend, results: list[p.AgentFinished]) -> None:
        shown = await collect_events(backend, session_id, p.ShowDiff())
        diff.extend(m.diff for m in shown if isinstance(m, p.DiffShown))

    budget = p.AgentBudget(max_wall_time_sec=timeout) if timeout is not None else None
    job = AgentJob(session_id=session_id, op=p.Chat(message=task, budget=budget))
    try:
        (result,) = await runner.run([job], after=take_diff)
        return _result(result, log, "".join(diff))
    finally:
        log.close()


def _result(result: p.AgentFinished, log: EventLog, diff: str) -> AgentRun:
    timed_out = result.error_kind == "budget_exhausted" and "wall_time" in (result.error or "")
    status = "timeout" if timed_out else result.status
    log.note(f"finished: status={status} steps={result.steps} seconds={result.seconds:.1f}")
    return AgentRun(
        status=status,
        ok=result.error is None and not timed_out,
        error=result.error,
        error_kind="timeout" if timed_out else result.error_kind,
        seconds=result.seconds,
        steps=result.steps,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        cost_usd=result.cost_usd,
        tool_calls=log.tool_calls,
        failed_tool_calls=log.failed_tool_calls,
        branch=result.branch,
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
