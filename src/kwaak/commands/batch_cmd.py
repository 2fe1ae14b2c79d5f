"""``kwaak batch FILE`` / ``kwaak batch --github-issues QUERY``: many agents, in parallel, headless."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.errors import KwaakError
from kwaak.headless.batch import BatchFile, BatchTask, batch_jobs, load_tasks, summary_table
from kwaak.headless.printer import EventPrinter, OutputFormat
from kwaak.headless.runner import AgentJob, HeadlessRunner
from kwaak.textsafe import escape_controls

if TYPE_CHECKING:
    from kwaak.backend import Backend


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
    n: int | None = None,
    models: str | None = None,
    executors: str | None = None,
    cluster: str | None = None,
) -> int:
    """Run the batch; the exit code is the most serious of the tasks' (see ``headless.exit_codes``).

    With ``--n``/``--models``/``--executors`` every task runs best-of-N and each task's agents are
    compared (a task succeeds when one of its agents did).
    """
    from kwaak.headless import best_of

    batch = load_tasks(file) if file is not None else asyncio.run(_issue_tasks(app.config, github_issues or ""))
    width = parallel or batch.parallel or app.config.limits.max_parallel_agents
    limits = app.config.limits.model_copy(update={"max_parallel_agents": width})
    config = app.config.model_copy(update={"endless_mode": True, "limits": limits})
    address = cluster or app.config.cluster.address
    if address:
        from kwaak.commands.batch_cluster import run_cluster

        return run_cluster(
            config,
            app.repo_root,
            batch.tasks,
            output,
            address,
            skip_indexing=app.skip_indexing,
            best_of=bool(n or models or executors),
        )
    groups: list[list[AgentJob]] | None = None
    if n is not None or models or executors:
        fan = best_of.fan_out(n, best_of.split_list(models), best_of.executors_of(executors))
        groups = [
            best_of.best_of_jobs(
                task.prompt,
                [(model, executor or task.executor) for model, executor in fan],
                budget=task.budget(),
                label=f"{task.label(i)} ",
                record="task_finished",
            )
            for i, task in enumerate(batch.tasks)
        ]
    return _run(config, app.repo_root, batch.tasks, output, skip_indexing=app.skip_indexing, groups=groups)


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

    def __init__(self, output: OutputFormat, jobs: list[AgentJob]) -> None:
        self.output = output
        self.fallback = EventPrinter(output=output)
        self.printers = {j.session_id: EventPrinter(output=output, prefix=f"[{j.name}] ") for j in jobs}

    def __call__(self, event: p.Event) -> None:
        self.printers.get(event.session_id, self.fallback)(event)

    def finished(self, result: p.AgentFinished) -> None:
        if self.output == "jsonl":
            self.fallback.record(result)
        else:
            state = "done" if result.ok else f"{result.status}: {result.error or result.reason}"
            print(escape_controls(f"[{result.name}] finished: {state}"), flush=True)

    def report(self, code: int, seconds: float, results: list[p.AgentFinished], overlaps: list[str]) -> None:
        """The batch's end: a ``batch_finished`` record, or the summary table and overlap warnings."""
        if self.output == "jsonl":
            record = p.BatchFinished(exit_code=code, seconds=seconds, results=tuple(results), overlaps=tuple(overlaps))
            self.fallback.record(record)
            return
        print("\n" + escape_controls(summary_table(results)))
        for line in overlaps:
            print(f"warning: {escape_controls(line)}")


def _run(
    config: Config,
    repo_root: Path,
    tasks: list[BatchTask],
    output: OutputFormat,
    *,
    skip_indexing: bool,
    groups: list[list[AgentJob]] | None = None,
) -> int:
    from kwaak.headless import best_of

    jobs = [job for group in groups for job in group] if groups else batch_jobs(tasks)
    router = _Router(output, jobs)
    overlaps: list[str] = []
    comparisons: list[p.ComparisonShown] = []

    async def find(backend: Backend, results: list[p.AgentFinished]) -> None:
        overlaps.extend(await _overlaps(repo_root, results))
        for group in groups or []:
            comparison = await best_of.compare_jobs(backend, group)
            if comparison is not None:
                comparisons.append(comparison)

    runner = HeadlessRunner(
        config, repo_root, index=not skip_indexing, listeners=[router], on_finished=router.finished, origin="batch"
    )
    started = time.monotonic()
    if output == "text":
        print(f"Running {len(tasks)} tasks, {config.limits.max_parallel_agents} at a time", file=sys.stderr)
    results = asyncio.run(runner.run(jobs, after=find))
    code = runner.exit_code(results)
    if groups:
        by_id = {r.session_id: r for r in results}
        per_task = [[by_id[j.session_id] for j in group if j.session_id in by_id] for group in groups]
        task_codes = [best_of.best_exit_code(rs, runner.exit_code(rs)) for rs in per_task]
        code = runner.exit_signal_code or max(task_codes, default=0)
    seconds = round(time.monotonic() - started, 2)
    router.report(code, seconds, results, overlaps)
    if output == "text":
        for task, comparison in zip(tasks, comparisons, strict=False):
            print(
                escape_controls(
                    f"\nBest of {len(comparison.rows)} for {task.name or task.prompt[:40]!r}:\n{comparison.table()}"
                )
            )
            print(best_of.pick_hint(comparison))
    return code


async def _overlaps(repo_root: Path, results: list[p.AgentFinished]) -> list[str]:
    from kwaak.git.overlap import describe_overlaps, find_overlaps

    branches = {r.name or r.session_id: r.branch for r in results if r.branch}
    if len(branches) < 2:
        return []
    return describe_overlaps(await find_overlaps(repo_root, branches))
