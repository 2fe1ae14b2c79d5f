"""The one headless runner: a backend, some agents, signals, and how each agent ended.

``run-agent``, ``batch``, ``sessions resume``, ``demo`` and the evaluations all run agents through
:class:`HeadlessRunner`. It talks to the backend only through the protocol: it submits ``Chat`` (with
the agent's budget, executor and model), ``RetryChat``, ``IndexRepository`` and
``CreatePullRequest`` ops and reads ``SessionSummary`` and ``CommandCompleted`` events.

SIGINT and SIGTERM stop every agent: the run is cancelled, the backend closes (turns cancelled,
tool process groups killed, work committed to the agents' branches, worktrees and their locks
removed), each agent's record is still produced, and the exit code is 130 or 143.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.headless.exit_codes import EXIT_SIGNALS, agent_exit_code, overall_exit_code

if TYPE_CHECKING:
    from kwaak.backend import Backend, Models

Listener = Callable[[p.Event], None]
AfterRun = Callable[["Backend", list[p.AgentFinished]], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentJob:
    """One agent to run: its session id, its first op, and what to do after."""

    session_id: p.SessionId
    op: p.Chat | p.RetryChat
    name: str | None = None
    pull_request: bool = False
    """Push the branch and open a pull request when the agent succeeded."""
    record: Literal["session_finished", "task_finished"] = "session_finished"


@dataclass
class HeadlessRunner:
    """Runs agents in one backend and produces an :class:`~kwaak.protocol.AgentFinished` for each."""

    config: Config
    repo_root: Path
    models: Models | None = None
    persist: bool = True
    restore: bool = False
    """Open each job's saved session first (``sessions resume``): the ``OpenSession`` op makes this
    process its only owner, and fails when another live kwaak process owns it."""
    index: bool = True
    """Update the code index first (through the ``IndexRepository`` op); failures only warn."""
    interactive: bool = False
    origin: str | None = None
    """Recorded with each new session (``run-agent``, ``batch``; ``kwaak sessions`` shows it)."""
    listeners: Sequence[Listener] = ()
    on_finished: Callable[[p.AgentFinished], None] | None = None
    """Called as each agent ends (batch prints ``task_finished`` lines as they come)."""
    warn: Callable[[str], None] = field(default=lambda text: print(f"warning: {text}", file=sys.stderr))
    signalled: signal.Signals | None = None
    _summaries: dict[p.SessionId, p.SessionSummary] = field(default_factory=dict)
    _completions: dict[p.SessionId, p.CommandCompleted] = field(default_factory=dict)
    _seconds: dict[p.SessionId, float] = field(default_factory=dict)

    @property
    def exit_signal_code(self) -> int | None:
        """130 (SIGINT) or 143 (SIGTERM) after a signal, else ``None``."""
        return EXIT_SIGNALS.get(self.signalled) if self.signalled is not None else None

    def exit_code(self, results: Sequence[p.AgentFinished]) -> int:
        """The process's exit code for these results (the signal's code wins)."""
        return self.exit_signal_code or overall_exit_code(results, idle_code=self.config.limits.idle_exit_code)

    async def run(self, jobs: Sequence[AgentJob], *, after: AfterRun | None = None) -> list[p.AgentFinished]:
        """Start the backend, run every job (in parallel, within ``limits.max_parallel_agents``).

        ``after(backend, results)`` runs before the backend closes (the agents' worktrees still exist).

        Raises:
            ConfigError: a cost budget with an unpriced model (before anything starts).
        """
        from kwaak.backend import Backend

        self._check_prices(jobs)
        started = time.monotonic()
        backend = Backend(
            self.config,
            self.repo_root,
            models=self.models,
            buffer_events=False,
            persist=self.persist,
            interactive=self.interactive,
            origin=self.origin,
        )
        backend.add_listener(self._watch)
        for listener in self.listeners:
            backend.add_listener(listener)
        results: list[p.AgentFinished] = []
        try:
            with _signals_cancel_current_task(self):
                try:
                    await backend.start(restore=False)
                    if self.index:
                        await self._index(backend)
                    await asyncio.gather(*(self._run_one(backend, job) for job in jobs))
                    results = [self.result(job, started) for job in jobs]
                    if after is not None:
                        await after(backend, results)
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if self.signalled is None or current is None:
                        raise
                    current.uncancel()
        finally:
            with _signals_ignored():
                await backend.aclose()  # stops the agents and removes their worktrees
        if self.signalled is not None:
            results = [self.result(job, started) for job in jobs]
        return results

    def _check_prices(self, jobs: Sequence[AgentJob]) -> None:
        from kwaak.agent.budget import require_prices
        from kwaak.backend.actions import merged_budget

        limits = self.config.limits
        budgets = [limits.agent, limits.team]
        for job in jobs:
            if isinstance(job.op, p.Chat) and job.op.budget is not None:
                budgets.append(merged_budget(limits.agent, job.op.budget))
            model = job.op.model if isinstance(job.op, p.Chat) else None
            require_prices(self.config, budgets, query_model=model)

    async def _index(self, backend: Backend) -> None:
        completed = await backend.run_op(p.SYSTEM_SESSION, p.IndexRepository())
        if not completed.ok:
            hint = f" ({completed.hint})" if completed.hint else ""
            self.warn(f"continuing without the code index: {completed.error}{hint}")

    async def _run_one(self, backend: Backend, job: AgentJob) -> None:
        started = time.monotonic()
        completed = await backend.run_op(job.session_id, p.OpenSession(replay=False)) if self.restore else None
        if completed is None or completed.ok:
            completed = await backend.run_op(job.session_id, job.op)
        if completed.ok and job.pull_request:
            pr = await backend.run_op(job.session_id, p.CreatePullRequest())
            if not pr.ok:
                completed = pr
        self._completions[job.session_id] = completed
        self._seconds[job.session_id] = time.monotonic() - started
        if self.on_finished is not None:
            self.on_finished(self.result(job, started))

    def _watch(self, event: p.Event) -> None:
        if isinstance(event.msg, p.SessionSummary):
            self._summaries[event.session_id] = event.msg

    def summary(self, session_id: p.SessionId) -> p.SessionSummary | None:
        """The latest summary the backend announced for this agent."""
        return self._summaries.get(session_id)

    def result(self, job: AgentJob, started: float) -> p.AgentFinished:
        """The record of how ``job``'s agent ended (so far)."""
        summary = self._summaries.get(job.session_id)
        completed = self._completions.get(job.session_id)
        seconds = self._seconds.get(job.session_id, time.monotonic() - started)
        status: p.ExitStatus = summary.status if summary is not None else "not_started"
        interrupted = completed is None and self.signalled is not None
        if interrupted:
            status = "interrupted"
        code = self.exit_signal_code if interrupted else agent_exit_code(status, completed, self.config.limits)
        usage = summary.usage if summary is not None else p.UsageInfo()
        error = None if completed is None or completed.ok else completed.error
        return p.AgentFinished(
            session_id=job.session_id,
            status=status,
            exit_code=code if code is not None else 1,
            seconds=round(seconds, 2),
            name=job.name,
            title=summary.title if summary else None,
            reason=summary.reason if summary else None,
            error=error if not interrupted else "interrupted by a signal",
            error_kind=(completed.error_kind if completed and not completed.ok else None)
            if not interrupted
            else "signal",
            branch=summary.branch if summary else None,
            pull_request=summary.pull_request_url if summary else None,
            steps=usage.steps,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=usage.cost_usd,
            kind=job.record,
        )


async def collect_events(backend: Backend, session_id: p.SessionId, op: p.Op) -> list[p.EventMsg]:
    """Run ``op`` and return the events it produced (e.g. ``DiffShown`` for ``ShowDiff``)."""
    events: list[p.Event] = []
    completed = await backend.run_op(session_id, op, collect=events)
    return [e.msg for e in events if e.msg is not completed]


_running: dict[asyncio.Task[object], HeadlessRunner] = {}
"""Runs in progress in this process (the evaluation harness runs several at once)."""


def _on_signal(sig: signal.Signals) -> None:
    for task, runner in list(_running.items()):
        if runner.signalled is None:
            runner.signalled = sig
            task.cancel()


@contextlib.contextmanager
def _signals_cancel_current_task(runner: HeadlessRunner) -> Iterator[None]:
    """While inside: SIGINT/SIGTERM record the signal and cancel the current task (once)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    first = not _running
    _running[task] = runner
    if first:
        _set_handlers(loop, _on_signal)
    try:
        yield
    finally:
        del _running[task]
        if not _running:
            _remove_handlers(loop)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """While cleaning up: further signals do not interrupt the clean-up (it is bounded)."""
    loop = asyncio.get_running_loop()
    if _running:  # another run still listens; a signal now goes to it
        yield
        return
    _set_handlers(loop, lambda sig: None)
    try:
        yield
    finally:
        _remove_handlers(loop)


def _set_handlers(loop: asyncio.AbstractEventLoop, handler: Callable[[signal.Signals], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, handler, sig)


def _remove_handlers(loop: asyncio.AbstractEventLoop) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(sig)
