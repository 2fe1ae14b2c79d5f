"""Usage accounting and budgets (steps, tokens, dollars, wall time) per agent and per team."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kwaak.config.model import Budget
from kwaak.errors import BudgetExceeded
from kwaak.messages import Usage


@dataclass
class Meter:
    """Running totals of one agent or of the team."""

    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    active_seconds: float = 0.0
    """Wall time spent in turns (closed intervals)."""
    _turn_started: float | None = None

    def add(self, usage: Usage) -> None:
        """Count one model request's usage."""
        self.usage = self.usage + usage

    def start_turn(self) -> None:
        """Start the wall-time clock."""
        if self._turn_started is None:
            self._turn_started = time.monotonic()

    def end_turn(self) -> None:
        """Stop the wall-time clock."""
        if self._turn_started is not None:
            self.active_seconds += time.monotonic() - self._turn_started
            self._turn_started = None

    @property
    def wall_seconds(self) -> float:
        """Wall time spent in turns so far, including the running one."""
        running = time.monotonic() - self._turn_started if self._turn_started is not None else 0.0
        return self.active_seconds + running


def check_budget(meter: Meter, budget: Budget, *, scope: str) -> None:
    """Raise when ``meter`` has reached a limit of ``budget``.

    Raises:
        BudgetExceeded: with the limit named (``steps``, ``tokens``, ``cost``, ``wall_time``).
    """
    checks: tuple[tuple[str, float | None, float, str], ...] = (
        ("steps", budget.max_steps, meter.steps, "steps"),
        ("tokens", budget.max_tokens, meter.usage.total_tokens, "tokens"),
        ("cost", budget.max_cost_usd, meter.usage.cost_usd, "USD"),
        ("wall_time", budget.max_wall_time_sec, meter.wall_seconds, "seconds"),
    )
    for limit, maximum, value, unit in checks:
        if maximum is not None and value >= maximum:
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            msg = f"{scope} budget exhausted: {limit} limit of {maximum:g} {unit} reached ({shown} used)"
            raise BudgetExceeded(
                msg, hint=f"raise `limits.{scope}.max_{_key(limit)}` in kwaak.toml or the CLI flag", limit=limit
            )


def _key(limit: str) -> str:
    return {"cost": "cost_usd", "wall_time": "wall_time_sec"}.get(limit, limit)
