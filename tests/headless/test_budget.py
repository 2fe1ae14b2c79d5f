"""Budget accounting: step reservation is all-or-nothing, the team's wall clock spans overlapping turns."""

from __future__ import annotations

import time

import pytest

from kwaak.agent.budget import Meter, remaining_wall_time, reserve_request, reserve_step, wall_time_exceeded
from kwaak.config.model import Budget
from kwaak.errors import BudgetExceeded


def test_reserve_step_counts_nothing_when_a_scope_is_full() -> None:
    agent, team = Meter(), Meter(steps=2)
    scopes = [(agent, Budget(max_steps=5), "agent"), (team, Budget(max_steps=2), "team")]
    with pytest.raises(BudgetExceeded, match="team budget exhausted: steps"):
        reserve_step(scopes)
    assert (agent.steps, team.steps) == (0, 2)
    team.steps = 1
    reserve_step(scopes)
    assert (agent.steps, team.steps) == (1, 2)


def test_requests_in_flight_count_against_token_and_cost_limits_until_released() -> None:
    agent, team = Meter(), Meter()
    scopes = [(agent, Budget(), "agent"), (team, Budget(max_tokens=1000, max_cost_usd=1.0), "team")]
    release = reserve_request(scopes, tokens=600, cost=0.1)
    assert (agent.in_flight_tokens, team.in_flight_tokens, team.steps) == (600, 600, 1)
    second = reserve_request(scopes, tokens=600, cost=0.1)  # 600 < 1000: may start
    with pytest.raises(BudgetExceeded, match=r"tokens limit of 1000 tokens reached \(1200 used or in flight"):
        reserve_request(scopes, tokens=600, cost=0.1)
    assert (team.in_flight_tokens, team.steps) == (1200, 2)  # the refused request reserved nothing
    release()
    release()  # idempotent
    second()
    assert (agent.in_flight_tokens, team.in_flight_tokens, team.in_flight_cost) == (0, 0, 0.0)
    release = reserve_request(scopes, tokens=10, cost=1.0)
    with pytest.raises(BudgetExceeded, match="cost limit"):
        reserve_request(scopes, tokens=10, cost=0.1)
    release()


def test_team_wall_clock_runs_while_any_turn_runs() -> None:
    team = Meter()
    team.start_turn()  # agent A
    team.start_turn()  # agent B
    time.sleep(0.05)
    team.end_turn()  # A ends; B still runs
    time.sleep(0.05)
    assert team.wall_seconds >= 0.1
    team.end_turn()
    frozen = team.wall_seconds
    time.sleep(0.02)
    assert team.wall_seconds == frozen


def test_remaining_wall_time_is_the_tightest_scope() -> None:
    agent, team = Meter(active_seconds=3.0), Meter(active_seconds=8.0)
    scopes = [(agent, Budget(max_wall_time_sec=10), "agent"), (team, Budget(max_wall_time_sec=10), "team")]
    left = remaining_wall_time(scopes)
    assert left is not None and 1.9 < left <= 2.0
    assert "team budget exhausted: wall_time" in wall_time_exceeded(scopes).message
    assert remaining_wall_time([(agent, Budget(), "agent")]) is None
