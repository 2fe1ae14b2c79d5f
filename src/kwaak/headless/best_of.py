"""Best-of-N: one task on N agents at once, then a side-by-side comparison.

``kwaak run-agent -i TASK --n 3 --models a,b,c [--executors docker,local]`` (and ``batch`` with
``--n``) start N agents on the same task, the i-th with the i-th model/executor (cycled). When
they are done, the backend's ``Compare`` op runs each agent's tests in its own workspace and
reports tests, diff size, cost and time; the table (or a ``comparison_shown`` JSON line) tells
the user which agent to land (``kwaak sessions land ID --squash``) and which to delete.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, get_args

from kwaak import protocol as p
from kwaak.errors import UsageError

if TYPE_CHECKING:
    from kwaak.backend import Backend
    from kwaak.headless.runner import AgentJob

MAX_N = 16


def split_list(value: str | None) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]`` (``None`` or empty → ``[]``)."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def executors_of(value: str | None) -> list[p.ExecutorKind]:
    """Parse ``--executors``.

    Raises:
        UsageError: an unknown executor.
    """
    kinds: list[p.ExecutorKind] = []
    for name in split_list(value):
        match = next((k for k in get_args(p.ExecutorKind) if k == name), None)
        if match is None:
            msg = f"unknown executor {name!r} in --executors"
            raise UsageError(msg, hint="use docker, sandbox or local")
        kinds.append(match)
    return kinds


def fan_out(
    n: int | None, models: Sequence[str], executors: Sequence[p.ExecutorKind]
) -> list[tuple[str | None, p.ExecutorKind | None]]:
    """The (model, executor) of each of the N agents (``n`` defaults to the longest list).

    Raises:
        UsageError: ``n`` is out of range.
    """
    count = n or max(len(models), len(executors), 1)
    if not 1 <= count <= MAX_N:
        msg = f"--n must be between 1 and {MAX_N}"
        raise UsageError(msg, hint="e.g. --n 3")
    return [
        (models[i % len(models)] if models else None, executors[i % len(executors)] if executors else None)
        for i in range(count)
    ]


def best_of_jobs(
    message: str,
    variants: Sequence[tuple[str | None, p.ExecutorKind | None]],
    *,
    budget: p.AgentBudget | None,
    label: str = "",
    record: Literal["session_finished", "task_finished"] = "session_finished",
) -> list[AgentJob]:
    """One job per variant, each a ``Chat`` of the same task with its model and executor."""
    from kwaak.headless.runner import AgentJob

    jobs: list[AgentJob] = []
    for i, (model, executor) in enumerate(variants, 1):
        tag = " ".join(x for x in (model, executor) if x)
        name = f"{label}#{i}" + (f" {tag}" if tag else "")
        op = p.Chat(message=message, budget=budget, model=model, executor=executor)
        jobs.append(AgentJob(session_id=str(uuid.uuid4()), op=op, name=name, record=record))
    return jobs


async def compare_jobs(backend: Backend, jobs: Sequence[AgentJob]) -> p.ComparisonShown | None:
    """Run the ``Compare`` op over the jobs' agents (its event reaches the listeners)."""
    from kwaak.headless.runner import collect_events

    if len(jobs) < 2:
        return None
    op = p.Compare(sessions=tuple(j.session_id for j in jobs))
    events = await collect_events(backend, jobs[0].session_id, op)
    return next((e for e in events if isinstance(e, p.ComparisonShown)), None)


def pick_hint(comparison: p.ComparisonShown) -> str:
    """How to land the best agent and drop the others."""
    ranked = sorted(comparison.rows, key=lambda r: (r.tests != "passed", r.status != "done", r.added + r.removed))
    best = ranked[0]
    return (
        f"land one with `kwaak sessions land {best.session_id[:8]} --squash` (suggested: passing tests, "
        f"smallest diff), then delete the others with `kwaak sessions delete ID` (their branches are kept)"
    )


def best_exit_code(results: Sequence[p.AgentFinished], fallback: int) -> int:
    """Best-of-N succeeds when any agent succeeded."""
    return 0 if any(r.exit_code == 0 for r in results) else fallback
