"""Exit codes of the headless verbs (``run-agent``, ``batch``, ``sessions resume``, ``demo``).

======  ===============================================================================
code    meaning
======  ===============================================================================
0       every agent finished: it called ``stop``
1       an agent failed (provider, tool loop, git...) or was stopped
2       usage or configuration error (bad flag, bad kwaak.toml, cost limit without prices)
3       a budget ran out (steps, tokens, cost, wall time)
4       an agent ended idle: it answered without calling ``stop`` (``limits.idle_exit_code``)
130     interrupted by SIGINT (Ctrl-C): agents stopped, work committed, worktrees removed
143     terminated by SIGTERM: the same clean-up
======  ===============================================================================

A batch exits with the most serious code of its tasks, in the order 1, 2, 3, idle; a signal wins.
The table is also in ``docs/jsonl.md``.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

from kwaak import protocol as p
from kwaak.config.model import LimitsConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUDGET, EXIT_IDLE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
EXIT_SIGNALS: dict[signal.Signals, int] = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}
_USAGE_KINDS = frozenset({"config", "secret", "usage"})


def agent_exit_code(status: p.ExitStatus, completed: p.CommandCompleted | None, limits: LimitsConfig) -> int:
    """How one agent's run maps to an exit code (see the module's table)."""
    if completed is None:
        return EXIT_FAILED
    if not completed.ok:
        if completed.error_kind == "budget_exhausted":
            return EXIT_BUDGET
        return EXIT_USAGE if completed.error_kind in _USAGE_KINDS else EXIT_FAILED
    if status == "done":
        return EXIT_OK
    if status == "idle":
        return limits.idle_exit_code
    return EXIT_FAILED


def overall_exit_code(results: Sequence[p.AgentFinished], *, idle_code: int) -> int:
    """The most serious of the agents' codes (1, then 2, 3 and the idle code); 0 when all succeeded."""
    codes = {r.exit_code for r in results}
    for code in (EXIT_FAILED, EXIT_USAGE, EXIT_BUDGET, idle_code, *sorted(codes)):
        if code in codes and code != EXIT_OK:
            return code
    return EXIT_OK


def command_exit_code(completed: p.CommandCompleted | None) -> int:
    """The exit code of a verb that runs one op (0 when it succeeded, else by its error kind)."""
    if completed is not None and completed.ok:
        return EXIT_OK
    return agent_exit_code("failed", completed, LimitsConfig())
