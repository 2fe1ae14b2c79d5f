"""The headless runner: shared budgets hold with agents in parallel, idle ends are not success."""

from __future__ import annotations

from pathlib import Path

from kwaak import protocol as p
from kwaak.backend import Models
from kwaak.headless.runner import AgentJob, HeadlessRunner
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.messages import Message
from tests.scripted import json_lines, run_kwaak, write_scripted_config


def _busy(messages: list[Message], tools: object) -> Step:
    """Never stops: each step lists the files again."""
    return call("shell_command", cmd="ls")


async def test_team_step_limit_holds_exactly_with_four_parallel_agents(make_config, tmp_git_repo: Path) -> None:
    config = make_config(endless_mode=True, limits={"max_parallel_agents": 4, "team": {"max_steps": 6}})
    models = Models(indexing=ScriptedModel(prompt_reply="busy"), query=ScriptedModel(_busy, delay=0.05))
    runner = HeadlessRunner(config, tmp_git_repo, models=models, index=False, persist=False)
    jobs = [AgentJob(session_id=f"a{i}", op=p.Chat(message=f"task {i}")) for i in range(4)]
    results = await runner.run(jobs)
    assert sum(r.steps for r in results) == 6
    assert [r.status for r in results] == ["budget_exhausted"] * 4
    assert all("team budget exhausted: steps" in (r.error or "") for r in results)
    assert runner.exit_code(results) == 3


async def test_agent_budget_on_the_chat_op(make_config, tmp_git_repo: Path) -> None:
    config = make_config(endless_mode=True)
    models = Models(indexing=ScriptedModel(prompt_reply="busy"), query=ScriptedModel(_busy))
    runner = HeadlessRunner(config, tmp_git_repo, models=models, index=False, persist=False)
    job = AgentJob(session_id="b", op=p.Chat(message="task", budget=p.AgentBudget(max_steps=2)))
    (result,) = await runner.run([job])
    assert (result.steps, result.status, result.exit_code) == (2, "budget_exhausted", 3)


def test_idle_end_without_stop_is_not_success(tmp_git_repo: Path) -> None:
    chatty = [{"text": "I think it is done."}] * 3
    cfg = write_scripted_config(tmp_git_repo, chatty, extra="[git]\nauto_push_remote = false")
    proc = run_kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", "say something", "--output", "jsonl")
    assert proc.returncode == 4, proc.stderr
    lines = json_lines(proc.stdout)
    final = lines[-1]
    assert (final["type"], final["status"], final["exit_code"]) == ("session_finished", "idle", 4)
    assert {line["version"] for line in lines} == {p.JSONL_VERSION}
    assert {line["type"] for line in lines} <= set(p.JSONL_RECORD_TYPES)
    # Configurable: a project may count an idle end as success.
    cfg = write_scripted_config(
        tmp_git_repo, chatty, name="lenient", extra="[git]\nauto_push_remote = false\n[limits]\nidle_exit_code = 0"
    )
    proc = run_kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", "say something else", "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr


class _Counting(ScriptedModel):
    """A scripted model that adds up the usage of every response it gives."""

    total_input: int = 0
    calls: int = 0

    async def complete(self, messages, *, tools=(), on_text_delta=None):  # type: ignore[no-untyped-def]
        response = await super().complete(messages, tools=tools, on_text_delta=on_text_delta)
        self.total_input += response.usage.input_tokens
        self.calls += 1
        return response


async def test_every_model_call_is_metered_initial_context_included(make_config, tmp_git_repo: Path) -> None:
    config = make_config(endless_mode=True)
    indexing = _Counting(prompt_reply="a title")
    query = _Counting([call("stop")], prompt_reply="- what does it do\n\nThe code adds numbers.")
    from kwaak.llm.testing import HashEmbedder

    models = Models(indexing=indexing, query=query, embedder=HashEmbedder())
    runner = HeadlessRunner(config, tmp_git_repo, models=models, index=True, persist=False)
    (result,) = await runner.run([AgentJob(session_id="m", op=p.Chat(message="explain the adder"))])
    assert result.ok, result
    assert query.calls >= 3  # sub-questions + answer of the initial context, then the agent's step
    assert result.input_tokens == indexing.total_input + query.total_input


def test_kwaak_query_reports_its_usage(tmp_git_repo: Path) -> None:
    cfg = write_scripted_config(tmp_git_repo, [], extra="[prices.scripted]\ninput = 1.0\noutput = 1.0\n")
    proc = run_kwaak(tmp_git_repo, cfg, "query", "-q", "what does this project do?")
    assert proc.returncode == 0, proc.stderr
    usage = next(line for line in proc.stderr.splitlines() if line.startswith("usage:"))
    assert "2 requests" in usage and "$0.0000" not in usage


async def test_chat_model_option_is_priced_and_used(make_config, tmp_git_repo: Path) -> None:
    import pytest

    from kwaak.errors import ConfigError

    llm = {role: {"provider": "Scripted"} for role in ("query", "embedding")}
    llm["indexing"] = {"provider": "Scripted", "prompt_model": "free"}
    prices = {"premium": {"input": 1.0, "output": 2.0}, "free": {"input": 0.0, "output": 0.0}}
    config = make_config(endless_mode=True, llm=llm, prices=prices)
    budget = p.AgentBudget(max_cost_usd=5.0)
    runner = HeadlessRunner(config, tmp_git_repo, index=False, persist=False)
    with pytest.raises(ConfigError, match="query model 'scripted' has no known price"):
        await runner.run([AgentJob(session_id="x", op=p.Chat(message="task", budget=budget))])
    runner = HeadlessRunner(config, tmp_git_repo, index=False, persist=False)
    job = AgentJob(session_id="y", op=p.Chat(message="task", budget=budget, model="premium", executor="local"))
    (result,) = await runner.run([job])
    assert result.ok, result
    assert result.cost_usd > 0, "only the agent's own model ('premium') costs anything"


async def _team_usage_with_four_agents(make_config, tmp_git_repo: Path, team: dict[str, float]) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    limits = {"max_parallel_agents": 4, "team": team}
    config = make_config(endless_mode=True, limits=limits, prices={"scripted": {"input": 1.0, "output": 1.0}})
    query = _Counting(_busy, delay=0.3, price=config.prices["scripted"])
    models = Models(indexing=ScriptedModel(prompt_reply="busy"), query=query)
    runner = HeadlessRunner(config, tmp_git_repo, models=models, index=False, persist=False)
    jobs = [AgentJob(session_id=f"t{i}", op=p.Chat(message=f"task {i}")) for i in range(4)]
    results = await runner.run(jobs)
    assert [r.status for r in results] == ["budget_exhausted"] * 4
    return sum(r.input_tokens + r.output_tokens for r in results), sum(r.cost_usd for r in results)


async def test_parallel_agents_overshoot_a_team_token_or_cost_limit_by_one_request_at_most(
    make_config, tmp_git_repo: Path
) -> None:
    """Requests in flight hold their estimated size: 4 agents cannot all start on the budget's last bit."""
    # One request of one agent, alone: its size R (tokens) and cost C.
    config = make_config(endless_mode=True, prices={"scripted": {"input": 1.0, "output": 1.0}})
    probe = _Counting(_busy, price=config.prices["scripted"])
    models = Models(indexing=probe, query=probe)
    runner = HeadlessRunner(config, tmp_git_repo, models=models, index=False, persist=False)
    job = AgentJob(session_id="probe", op=p.Chat(message="task 0", budget=p.AgentBudget(max_steps=1)))
    (one,) = await runner.run([job])
    request_tokens, request_cost = one.input_tokens + one.output_tokens, one.cost_usd
    assert request_tokens > 0 and request_cost > 0

    # Team limit of 1.5 requests: without reservations all 4 agents start their first request (4 R).
    max_tokens = int(1.5 * request_tokens)
    tokens, _ = await _team_usage_with_four_agents(make_config, tmp_git_repo, {"max_tokens": max_tokens})
    assert tokens <= max_tokens + request_tokens * 1.1, (tokens, request_tokens)
    max_cost = 1.5 * request_cost
    _, cost = await _team_usage_with_four_agents(make_config, tmp_git_repo, {"max_cost_usd": max_cost})
    assert cost <= max_cost + request_cost * 1.1, (cost, request_cost)
