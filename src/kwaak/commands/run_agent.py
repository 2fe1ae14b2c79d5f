"""``kwaak run-agent -i "task"``: one agent, headless, until it stops.

Exit codes: see :mod:`kwaak.headless.exit_codes` (0 done, 1 failed, 2 usage/config, 3 budget,
4 idle without ``stop``, 130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Protocol

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.headless.printer import EventPrinter, OutputFormat

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
) -> int:
    """Run one agent on ``initial_message`` and return the exit code."""
    from kwaak.headless.runner import AgentJob, HeadlessRunner

    printer = EventPrinter(output=output)
    runner = HeadlessRunner(
        headless_config(app.config), app.repo_root, index=not app.skip_indexing, listeners=[printer]
    )
    budget = agent_budget(max_steps=max_steps, max_cost=max_cost, timeout=timeout)
    job = AgentJob(session_id=str(uuid.uuid4()), op=p.Chat(message=initial_message, budget=budget))
    results = asyncio.run(runner.run([job]))
    for result in results:
        printer.record(result)
    return runner.exit_code(results)
