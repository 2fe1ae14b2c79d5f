"""``kwaak run-agent -i "task"``: one agent, headless, until it stops.

Exit codes: 0 completed, 1 the agent failed or was stopped, 2 usage/config error, 3 a budget
(steps, tokens, cost, wall time) was exhausted, 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from pathlib import Path
from typing import Protocol

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.config.model import Budget
from kwaak.headless.printer import EventPrinter, OutputFormat

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUDGET = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class App(Protocol):
    """What run-agent needs from the CLI's application context."""

    config: Config
    repo_root: Path
    skip_indexing: bool


def with_overrides(config: Config, *, max_steps: int | None, max_cost: float | None, timeout: float | None) -> Config:
    """Force endless mode (like kwaak) and apply budget flags to the per-agent budget."""
    agent = config.limits.agent
    budget = Budget(
        max_steps=max_steps or agent.max_steps,
        max_tokens=agent.max_tokens,
        max_cost_usd=max_cost or agent.max_cost_usd,
        max_wall_time_sec=timeout or agent.max_wall_time_sec,
    )
    limits = config.limits.model_copy(update={"agent": budget})
    return config.model_copy(update={"endless_mode": True, "limits": limits})


def exit_code_for(completed: p.CommandCompleted | None) -> int:
    """Map the chat's completion to run-agent's exit code."""
    if completed is None:
        return EXIT_FAILED
    if completed.ok:
        return EXIT_OK
    if completed.error_kind == "budget_exhausted":
        return EXIT_BUDGET
    if completed.error_kind in ("config", "secret", "usage"):
        return EXIT_USAGE
    return EXIT_FAILED


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
    config = with_overrides(app.config, max_steps=max_steps, max_cost=max_cost, timeout=timeout)
    printer = EventPrinter(output=output)
    try:
        return asyncio.run(_main(config, app.repo_root, initial_message, printer, skip_indexing=app.skip_indexing))
    except asyncio.CancelledError:
        # SIGTERM cancelled the run (Ctrl-C surfaces as KeyboardInterrupt, exit 130, in the CLI).
        return EXIT_TERMINATED


async def _main(config: Config, repo_root: Path, message: str, printer: EventPrinter, *, skip_indexing: bool) -> int:
    from kwaak.backend import Backend
    from kwaak.headless.setup import start_headless

    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    terminated: list[bool] = []

    def on_sigterm() -> None:
        terminated.append(True)
        if main_task is not None:
            main_task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    session_id = str(uuid.uuid4())
    completed: p.CommandCompleted | None = None
    try:
        async with Backend(config, repo_root, buffer_events=False) as backend:
            backend.add_listener(printer)
            await start_headless(backend, skip_indexing=skip_indexing)
            completed = await backend.run_op(session_id, p.Chat(message=message))
            session = backend.sessions.get(session_id)
            code = exit_code_for(completed)
            printer.finish(_summary(session, code, time.monotonic() - started))
    except asyncio.CancelledError:
        # After the backend has closed, so that the summary stays the last line of the stream.
        code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
        printer.finish({"status": "interrupted", "session_id": session_id, "exit_code": code})
        raise
    return code


def _summary(session: object, code: int, seconds: float) -> dict[str, object]:
    from kwaak.backend import Session

    record: dict[str, object] = {"exit_code": code, "seconds": round(seconds, 2)}
    if isinstance(session, Session):
        usage = session.meter.usage
        record |= {
            "status": session.status,
            "session_id": session.id,
            "branch": session.workspace.branch if session.workspace else None,
            "steps": session.meter.steps,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost_usd": round(usage.cost_usd, 6),
        }
    return record
