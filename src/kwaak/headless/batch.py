"""Batch runs: a list of tasks → agents in parallel → branches (and PRs) → a summary.

A task file is TOML (``[[task]]`` tables, optional top-level ``parallel``) or JSON lines, each
task ``{prompt, name?, max_steps?, max_tokens?, max_cost_usd?, timeout_sec?, executor?,
pull_request?}``.
"""

from __future__ import annotations

import asyncio
import json
import time
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.config.model import Budget, ToolExecutor
from kwaak.errors import ConfigError

if TYPE_CHECKING:
    from kwaak.backend import Backend, Session

ResultCallback = Callable[["TaskResult"], None]
StartCallback = Callable[[str, str], None]

TaskStatus = Literal["done", "idle", "failed", "stopped", "budget_exhausted", "interrupted", "running", "starting"]


class BatchTask(BaseModel):
    """One task of a batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1)
    name: str | None = None
    max_steps: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, gt=0)
    timeout_sec: float | None = Field(default=None, gt=0)
    executor: ToolExecutor | None = None
    pull_request: bool = False

    def label(self, index: int) -> str:
        """A short name for tables and prefixes."""
        return self.name or f"task-{index + 1}"

    def budget(self, default: Budget) -> Budget:
        """The task's budget: its own limits over the configured per-agent ones."""
        return Budget(
            max_steps=self.max_steps or default.max_steps,
            max_tokens=self.max_tokens or default.max_tokens,
            max_cost_usd=self.max_cost_usd or default.max_cost_usd,
            max_wall_time_sec=self.timeout_sec or default.max_wall_time_sec,
        )


@dataclass
class BatchFile:
    """Parsed task file."""

    tasks: list[BatchTask]
    parallel: int | None = None


def load_tasks(path: Path) -> BatchFile:
    """Read a TOML or JSONL task file.

    Raises:
        ConfigError: unreadable file, bad syntax, or an invalid task (with its index).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read the task file {str(path)!r}: {exc.strerror or exc}"
        raise ConfigError(msg, hint="check the path") from exc
    raw, parallel = _parse(path, text)
    tasks: list[BatchTask] = []
    for index, item in enumerate(raw):
        try:
            tasks.append(BatchTask.model_validate(item))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(x) for x in err["loc"])
            msg = f"{path}: task {index + 1}: {where}: {err['msg']}"
            raise ConfigError(msg, hint="each task needs a `prompt`; see `kwaak batch --help`") from None
    if not tasks:
        msg = f"{path}: no tasks found"
        raise ConfigError(msg, hint="add `[[task]]` tables with a `prompt`, or JSON lines")
    return BatchFile(tasks=tasks, parallel=parallel)


def _parse(path: Path, text: str) -> tuple[list[Any], int | None]:
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()], None
        except json.JSONDecodeError as exc:
            msg = f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}"
            raise ConfigError(msg, hint="one JSON object per line") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: TOML syntax error: {exc}"
        raise ConfigError(msg, hint="fix the TOML syntax at the line shown") from exc
    tasks = data.get("task", data.get("tasks", []))
    parallel = data.get("parallel")
    return (tasks if isinstance(tasks, list) else []), (int(parallel) if isinstance(parallel, int) else None)


@dataclass
class TaskResult:
    """How one task ended."""

    name: str
    session_id: str
    status: str = "starting"
    branch: str | None = None
    pull_request: str | None = None
    error: str | None = None
    error_kind: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Completed without error."""
        return self.error is None


@dataclass
class BatchReport:
    """All results, in task order."""

    results: list[TaskResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 all ok; 1 any task failed; 3 only budgets ran out."""
        if all(r.ok for r in self.results):
            return 0
        if all(r.ok or r.error_kind == "budget_exhausted" for r in self.results):
            return 3
        return 1

    def table(self) -> str:
        """A plain-text summary table."""
        header = ("task", "status", "branch / PR", "tokens", "cost", "time")
        rows = [
            (
                r.name,
                r.status if r.ok else f"{r.status}: {(r.error or '')[:60]}",
                r.pull_request or r.branch or "-",
                str(r.input_tokens + r.output_tokens),
                f"${r.cost_usd:.4f}",
                f"{r.seconds:.1f}s",
            )
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in (header, *rows)]
        lines.insert(1, "  ".join("-" * w for w in widths))
        ok = sum(r.ok for r in self.results)
        lines.append(f"\n{ok}/{len(self.results)} tasks completed")
        return "\n".join(lines)


async def run_batch(
    backend: Backend,
    tasks: list[BatchTask],
    *,
    on_result: ResultCallback | None = None,
    on_start: StartCallback | None = None,
) -> BatchReport:
    """Run every task as its own agent; ``backend.runtime.slots`` caps how many run at once.

    ``on_start(session_id, name)`` is called for each task before it runs (to label its output).
    """
    results = [TaskResult(name=t.label(i), session_id=str(uuid.uuid4())) for i, t in enumerate(tasks)]
    for result in results:
        if on_start is not None:
            on_start(result.session_id, result.name)
    await asyncio.gather(
        *(_run_one(backend, task, result, on_result) for task, result in zip(tasks, results, strict=True))
    )
    return BatchReport(results=results)


async def _run_one(backend: Backend, task: BatchTask, result: TaskResult, on_result: ResultCallback | None) -> None:
    config: Config = backend.config
    session = backend.session(result.session_id)
    session.budget = task.budget(config.limits.agent)
    session.executor_kind = task.executor
    started = time.monotonic()
    completed: p.CommandCompleted = await backend.run_op(result.session_id, p.Chat(message=task.prompt))
    if completed.ok and task.pull_request:
        pr = await backend.run_op(result.session_id, p.CreatePullRequest())
        if not pr.ok:
            completed = pr
        else:
            result.pull_request = session.pull_request_url
    _fill(result, session, completed, time.monotonic() - started)
    if on_result is not None:
        on_result(result)


def _fill(result: TaskResult, session: Session, completed: p.CommandCompleted, seconds: float) -> None:
    usage = session.meter.usage
    result.status = session.status
    result.branch = session.workspace.branch if session.workspace else None
    result.error = None if completed.ok else completed.error
    result.error_kind = None if completed.ok else completed.error_kind
    result.input_tokens, result.output_tokens = usage.input_tokens, usage.output_tokens
    result.cost_usd = round(usage.cost_usd, 6)
    result.seconds = round(seconds, 2)
