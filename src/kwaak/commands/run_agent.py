"""``kwaak run-agent -i "task"``: one agent, headless, until it stops.

Exit codes: see :mod:`kwaak.headless.exit_codes` (0 done, 1 failed, 2 usage/config, 3 budget,
4 idle without ``stop``, 130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.config.model import StartFrom
from kwaak.headless.printer import EventPrinter, OutputFormat
from kwaak.textsafe import escape_controls

if TYPE_CHECKING:
    from kwaak.backend import Backend
    from kwaak.headless.runner import HeadlessRunner

__all__ = ["App", "agent_budget", "headless_config", "run"]


class App(Protocol):
    """What run-agent needs from the CLI's application context."""

    config: Config
    repo_root: Path
    skip_indexing: bool


def headless_config(config: Config) -> Config:
    """Headless agents keep going after a text-only answer (kwaak forces endless mode)."""
    return config.model_copy(update={"endless_mode": True})


def agent_budget(*, max_steps: int | None, max_cost: float | None, timeout: float | None) -> p.AgentBudget | None:
    """The budget flags as the ``Chat`` op's per-agent budget (``None`` without flags)."""
    if max_steps is None and max_cost is None and timeout is None:
        return None
    return p.AgentBudget(max_steps=max_steps, max_cost_usd=max_cost, max_wall_time_sec=timeout)


def run(
    app: App,
    *,
    initial_message: str,
    output: OutputFormat = "text",
    max_steps: int | None = None,
    max_cost: float | None = None,
    timeout: float | None = None,
    n: int | None = None,
    models: str | None = None,
    executors: str | None = None,
    start_from: StartFrom | None = None,
    model: str | None = None,
) -> int:
    """Run one agent on ``initial_message`` (or N, best-of-N) and return the exit code."""
    from kwaak.headless.runner import AgentJob, HeadlessRunner

    printer = EventPrinter(output=output)
    runner = HeadlessRunner(
        headless_config(app.config),
        app.repo_root,
        index=not app.skip_indexing,
        listeners=[printer],
        origin="run-agent",
    )
    budget = agent_budget(max_steps=max_steps, max_cost=max_cost, timeout=timeout)
    if n is not None or models or executors:
        return _best_of(
            runner, printer, initial_message, budget, n=n, models=models, executors=executors, start_from=start_from
        )
    op = p.Chat(message=initial_message, budget=budget, start_from=start_from, model=model)
    job = AgentJob(session_id=str(uuid.uuid4()), op=op)
    results = asyncio.run(runner.run([job]))
    for result in results:
        printer.record(result)
    return runner.exit_code(results)


def _best_of(
    runner: HeadlessRunner,
    printer: EventPrinter,
    message: str,
    budget: p.AgentBudget | None,
    *,
    n: int | None,
    models: str | None,
    executors: str | None,
    start_from: StartFrom | None,
) -> int:
    from kwaak.headless import best_of

    variants = best_of.fan_out(n, best_of.split_list(models), best_of.executors_of(executors))
    jobs = best_of.best_of_jobs(message, variants, budget=budget)
    # every variant starts from the same commit
    jobs = [
        dataclasses.replace(job, op=dataclasses.replace(job.op, start_from=start_from))
        if isinstance(job.op, p.Chat)
        else job
        for job in jobs
    ]
    compared: list[p.ComparisonShown] = []

    async def after(backend: Backend, results: list[p.AgentFinished]) -> None:
        comparison = await best_of.compare_jobs(backend, jobs)
        if comparison is not None:
            compared.append(comparison)

    results = asyncio.run(runner.run(jobs, after=after))
    for result in results:
        printer.record(result)
    if compared and printer.output == "text":
        print(escape_controls(f"\nBest of {len(jobs)}:\n{compared[0].table()}\n{best_of.pick_hint(compared[0])}"))
    return runner.exit_signal_code or best_of.best_exit_code(results, runner.exit_code(results))
