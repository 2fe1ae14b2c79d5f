"""``kwaak batch FILE`` / ``kwaak batch --github-issues QUERY``: many agents, in parallel, headless."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Protocol

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.errors import KwaakError
from kwaak.headless.batch import BatchFile, BatchReport, BatchTask, TaskResult, load_tasks, run_batch
from kwaak.headless.printer import EventPrinter, OutputFormat


class App(Protocol):
    """What batch needs from the CLI's application context."""

    config: Config
    repo_root: Path
    skip_indexing: bool


def run(
    app: App,
    *,
    file: Path | None = None,
    github_issues: str | None = None,
    parallel: int | None = None,
    output: OutputFormat = "text",
) -> int:
    """Run the batch and return 0 (all done), 1 (a task failed) or 3 (only budgets ran out)."""
    batch = load_tasks(file) if file is not None else asyncio.run(_issue_tasks(app.config, github_issues or ""))
    width = parallel or batch.parallel or app.config.limits.max_parallel_agents
    limits = app.config.limits.model_copy(update={"max_parallel_agents": width})
    config = app.config.model_copy(update={"endless_mode": True, "limits": limits})
    return asyncio.run(_main(config, app.repo_root, batch.tasks, output, skip_indexing=app.skip_indexing))


async def _issue_tasks(config: Config, query: str) -> BatchFile:
    from kwaak.commands.github_issue import issues_for_query

    issues = await issues_for_query(config, query)
    tasks = [BatchTask(prompt=i.prompt, name=f"#{i.number}", pull_request=True) for i in issues]
    if not tasks:
        msg = f"no GitHub issues match {query!r}"
        raise KwaakError(msg, hint="check the search, e.g. `label:kwaak`")
    return BatchFile(tasks=tasks)


class _Router:
    """Prints each event with its task's label (text) or as JSON lines."""

    def __init__(self, output: OutputFormat) -> None:
        self.output = output
        self.printers: dict[str, EventPrinter] = {}
        self.fallback = EventPrinter(output=output)

    def label(self, session_id: str, name: str) -> None:
        self.printers[session_id] = EventPrinter(output=self.output, prefix=f"[{name}] ")

    def __call__(self, event: p.Event) -> None:
        self.printers.get(event.session_id, self.fallback)(event)


async def _main(
    config: Config, repo_root: Path, tasks: list[BatchTask], output: OutputFormat, *, skip_indexing: bool
) -> int:
    from kwaak.backend import Backend
    from kwaak.headless.setup import start_headless

    router = _Router(output)
    async with Backend(config, repo_root, buffer_events=False) as backend:
        backend.add_listener(router)
        await start_headless(backend, skip_indexing=skip_indexing)
        _announce(tasks, output, config.limits.max_parallel_agents)
        report = await run_batch(backend, tasks, on_result=lambda r: _finished(r, output), on_start=router.label)
        overlaps = await _overlaps(backend, report)
    _summary(report, overlaps, output)
    return report.exit_code


def _announce(tasks: list[BatchTask], output: OutputFormat, width: int) -> None:
    if output == "text":
        print(f"Running {len(tasks)} tasks, {width} at a time", file=sys.stderr)


def _finished(result: TaskResult, output: OutputFormat) -> None:
    if output == "jsonl":
        record = {"type": "task_finished", "timestamp": round(time.time(), 3), **dataclasses.asdict(result)}
        print(json.dumps(record), flush=True)
    else:
        state = "done" if result.ok else f"{result.status}: {result.error}"
        print(f"[{result.name}] finished: {state}", flush=True)


async def _overlaps(backend: object, report: BatchReport) -> list[str]:
    from kwaak.backend import Backend
    from kwaak.git.overlap import describe_overlaps, find_overlaps

    assert isinstance(backend, Backend)
    branches = {r.name: r.branch for r in report.results if r.branch}
    if len(branches) < 2:
        return []
    found = await find_overlaps(backend.runtime.repo_root, branches)
    return describe_overlaps(found)


def _summary(report: BatchReport, overlaps: list[str], output: OutputFormat) -> None:
    if output == "jsonl":
        results = [dataclasses.asdict(r) for r in report.results]
        record = {
            "type": "batch_finished",
            "timestamp": round(time.time(), 3),
            "exit_code": report.exit_code,
            "results": results,
            "overlaps": overlaps,
        }
        print(json.dumps(record), flush=True)
        return
    print("\n" + report.table())
    for line in overlaps:
        print(f"warning: {line}")
