"""Batch task files: a list of tasks → runner jobs (agents in parallel) → a summary table.

A task file is TOML (``[[task]]`` tables, optional top-level ``parallel``) or JSON lines, each
task ``{prompt, name?, max_steps?, max_tokens?, max_cost_usd?, timeout_sec?, executor?, model?,
start_from?, pull_request?}``.
"""

from __future__ import annotations

import json
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kwaak import protocol as p
from kwaak.config.model import StartFrom, ToolExecutor, normalize_start_from
from kwaak.errors import ConfigError
from kwaak.headless.runner import AgentJob


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
    start_from: StartFrom | None = None
    """``head``, ``main`` or ``origin`` (``[workspace] start_from`` for this task's agent)."""
    model: str | None = None
    """Another model of the ``[llm.query]`` provider for this task's agent."""
    pull_request: bool = False

    @field_validator("start_from", mode="before")
    @classmethod
    def _start_from(cls, value: Any) -> Any:
        return normalize_start_from(value)

    def label(self, index: int) -> str:
        """A short name for tables and prefixes."""
        return self.name or f"task-{index + 1}"

    def budget(self) -> p.AgentBudget:
        """The task's own limits (the configured per-agent ones fill the rest)."""
        return p.AgentBudget(
            max_steps=self.max_steps,
            max_tokens=self.max_tokens,
            max_cost_usd=self.max_cost_usd,
            max_wall_time_sec=self.timeout_sec,
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


def batch_jobs(tasks: list[BatchTask]) -> list[AgentJob]:
    """One runner job per task: a new agent with the task's budget and executor."""
    return [
        AgentJob(
            session_id=str(uuid.uuid4()),
            op=p.Chat(
                message=task.prompt,
                budget=task.budget(),
                executor=task.executor,
                start_from=task.start_from,
                model=task.model,
            ),
            name=task.label(i),
            pull_request=task.pull_request,
            record="task_finished",
        )
        for i, task in enumerate(tasks)
    ]


def summary_table(results: list[p.AgentFinished]) -> str:
    """A plain-text summary table of a batch."""
    on_cluster = any(r.node for r in results)
    header: tuple[str, ...] = ("task", "status", "branch / PR", "tokens", "cost", "time")
    header += ("node",) if on_cluster else ()
    rows = [
        (
            r.name or r.session_id[:8],
            r.status if r.ok else f"{r.status}: {(r.error or r.reason or '')[:60]}",
            r.pull_request or r.branch or "-",
            str(r.input_tokens + r.output_tokens),
            f"${r.cost_usd:.4f}",
            f"{r.seconds:.1f}s",
            *((r.node or "-",) if on_cluster else ()),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    ok = sum(r.ok for r in results)
    lines.append(f"\n{ok}/{len(results)} tasks completed")
    return "\n".join(lines)
