"""Usage accounting and budgets (steps, tokens, dollars, wall time) per agent and per team.

Budgets hold before spending: a step is *reserved* against every scope (agent and team) in one
synchronous call, so N agents in parallel cannot overshoot a shared step limit. Each request also
reserves its estimated input tokens (and their cost) while it is in flight: a request only starts
when what is spent plus what other requests have in flight is still under the token and cost
limits, so N parallel agents overshoot a shared token or cost limit by at most one request, as a
single agent does (a request's size is only known when it returns). The remaining wall
time bounds the whole turn (a running tool call is cancelled when it runs out); a cost limit needs
a price for every model that can spend (:func:`require_prices`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kwaak.config import Config
from kwaak.config.model import Budget
from kwaak.errors import BudgetExceeded, ConfigError
from kwaak.llm.base import Model, ModelResponse, TextDeltaCallback
from kwaak.messages import Message, ToolSpec, Usage


@dataclass
class Meter:
    """Running totals of one agent or of the team."""

    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    active_seconds: float = 0.0
    """Wall time spent in turns (closed intervals)."""
    in_flight_tokens: int = 0
    """Estimated input tokens of requests that have started and not returned yet."""
    in_flight_cost: float = 0.0
    _turn_started: float | None = None
    _running: int = 0

    def add(self, usage: Usage) -> None:
        """Count one model request's usage."""
        self.usage = self.usage + usage

    def start_turn(self) -> None:
        """Start the wall-time clock (the team's runs while any of its agents has a turn)."""
        self._running += 1
        if self._turn_started is None:
            self._turn_started = time.monotonic()

    def end_turn(self) -> None:
        """Stop the wall-time clock when the last running turn ends."""
        self._running = max(0, self._running - 1)
        if self._running == 0 and self._turn_started is not None:
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
        ("tokens", budget.max_tokens, meter.usage.total_tokens + meter.in_flight_tokens, "tokens"),
        ("cost", budget.max_cost_usd, meter.usage.cost_usd + meter.in_flight_cost, "USD"),
        ("wall_time", budget.max_wall_time_sec, meter.wall_seconds, "seconds"),
    )
    for limit, maximum, value, unit in checks:
        if maximum is not None and value >= maximum:
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            pending = limit in ("tokens", "cost") and (meter.in_flight_tokens or meter.in_flight_cost)
            used = "used or in flight in parallel requests" if pending else "used"
            msg = f"{scope} budget exhausted: {limit} limit of {maximum:g} {unit} reached ({shown} {used})"
            raise BudgetExceeded(
                msg, hint=f"raise `limits.{scope}.max_{_key(limit)}` in kwaak.toml or the CLI flag", limit=limit
            )


def _key(limit: str) -> str:
    return {"cost": "cost_usd", "wall_time": "wall_time_sec"}.get(limit, limit)


Scope = tuple[Meter, Budget, str]
"""A meter, its budget and the scope's name (``agent`` or ``team``)."""


def reserve_step(scopes: Sequence[Scope]) -> None:
    """Check every scope's limits, then count one step in each (atomically: no ``await`` between).

    Raises:
        BudgetExceeded: a scope has reached a limit; nothing was counted.
    """
    for meter, budget, scope in scopes:
        check_budget(meter, budget, scope=scope)
    for meter, _, _ in scopes:
        meter.steps += 1


def reserve_request(scopes: Sequence[Scope], *, tokens: int, cost: float) -> Callable[[], None]:
    """Reserve a step, then hold ``tokens``/``cost`` in flight in every scope until the release is called.

    The check (:func:`reserve_step`) counts the other requests in flight, not this one: a lone agent
    behaves as before, and parallel agents cannot all start on the last bit of a shared budget.

    Raises:
        BudgetExceeded: a scope has reached a limit; nothing was reserved.
    """
    reserve_step(scopes)
    meters = [meter for meter, _, _ in scopes]
    for meter in meters:
        meter.in_flight_tokens += tokens
        meter.in_flight_cost += cost
    released = False

    def release() -> None:
        nonlocal released
        if released:
            return
        released = True
        for meter in meters:
            meter.in_flight_tokens -= tokens
            meter.in_flight_cost -= cost

    return release


def remaining_wall_time(scopes: Sequence[Scope]) -> float | None:
    """Seconds left before the tightest wall-time limit (``None``: no limit)."""
    left = [b.max_wall_time_sec - m.wall_seconds for m, b, _ in scopes if b.max_wall_time_sec is not None]
    return max(0.0, min(left)) if left else None


def wall_time_exceeded(scopes: Sequence[Scope]) -> BudgetExceeded:
    """The error for a turn cut short by its wall-time limit (names the tightest scope)."""
    timed = [(b.max_wall_time_sec - m.wall_seconds, b, s) for m, b, s in scopes if b.max_wall_time_sec is not None]
    _, budget, scope = min(timed, key=lambda item: item[0]) if timed else (0.0, Budget(), "agent")
    limit = budget.max_wall_time_sec or 0
    msg = f"{scope} budget exhausted: wall_time limit of {limit:g} seconds reached (a running step was cancelled)"
    return BudgetExceeded(
        msg, hint=f"raise `limits.{scope}.max_wall_time_sec` in kwaak.toml or --timeout", limit="wall_time"
    )


def require_prices(config: Config, budgets: Sequence[Budget], *, query_model: str | None = None) -> None:
    """A cost limit needs a price for each chat model that spends (query and indexing roles).

    Raises:
        ConfigError: a budget limits cost but a model has no price (built-in table or ``[prices]``).
    """
    if not any(b.max_cost_usd is not None for b in budgets):
        return
    from kwaak.llm.pricing import price_for

    for role in ("query", "indexing"):
        name = getattr(getattr(config.llm, role), "prompt_model", None)
        if role == "query" and query_model is not None:
            name = query_model
        if name and price_for(name, config.prices) is None:
            msg = f"a cost budget is set but the {role} model {name!r} has no known price"
            hint = f'add `[prices."{name}"] input = ..., output = ...` (USD per million tokens) or drop the cost limit'
            raise ConfigError(msg, hint=hint)


class MeteredModel(Model):
    """A view of a model that reports the usage of every request (the model itself is shared)."""

    def __init__(self, inner: Model, on_usage: Callable[[Usage], None]) -> None:
        self.inner = inner
        self.on_usage = on_usage
        self.name = inner.name

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        """Forward the request and count its usage."""
        response = await self.inner.complete(messages, tools=tools, on_text_delta=on_text_delta)
        self.on_usage(response.usage)
        return response

    async def warm_up(self) -> None:
        """Warm up the shared model."""
        await self.inner.warm_up()
