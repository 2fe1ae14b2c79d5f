"""PlanAct: the planner researches with read-only tools, asks, delegates; the coding agent commits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kwaak import protocol as p
from kwaak.llm.testing import ScriptedModel, Step, call, say
from kwaak.messages import Message, SystemMessage, ToolResult, ToolSpec, UserMessage
from tests.conftest import git


def _is_planner(messages: list[Message]) -> bool:
    return isinstance(messages[0], SystemMessage) and "cannot code yourself" in messages[0].content


def _policy(coding_cmd: str = "echo coding") -> object:
    seen_tools: dict[str, set[str]] = {}
    asked = {"shell": 0}

    def policy(messages: list[Message], tools: list[ToolSpec]) -> Step:
        role = "planner" if _is_planner(messages) else "coding"
        seen_tools.setdefault(role, set()).update(t.name for t in tools)
        results = [m for m in messages if isinstance(m, ToolResult)]
        last_user = next(m.content for m in reversed(messages) if isinstance(m, UserMessage))
        if role == "planner":
            if not results:
                return call("read_file_with_line_numbers", file_name="src/calc.py")
            if last_user != "yes, go ahead":
                return say("Plan: add notes.txt describing `add`. Do you agree?")
            return call("delegate_coding_agent", task="Create notes.txt saying: add sums two numbers")
        if last_user == "one more thing":
            if results and results[-1].name == "shell_command":
                return call("stop")
            asked["shell"] += 1  # a retry redrives this completion: answer differently the second time
            return call("shell_command", cmd=coding_cmd) if asked["shell"] == 1 else call("stop")
        if any(r.name == "write_file" for r in results):
            return call("stop")
        return call("write_file", file_name="notes.txt", content="add sums two numbers\n")

    policy.seen_tools = seen_tools  # type: ignore[attr-defined]
    return policy


async def test_planner_asks_then_delegates_and_the_coder_commits(make_backend, tmp_git_repo: Path) -> None:
    policy = _policy()
    backend, rec = make_backend(ScriptedModel(policy), agent="PlanAct")
    first = await backend.run_op("s", p.Chat(message="document add"))
    assert first.ok
    session = backend._sessions["s"]
    assert session.active_agent == "planner" and session.status == "idle"  # paused to ask the user
    assert (await backend.run_op("s", p.Chat(message="yes, go ahead"))).ok
    assert session.active_agent == "coding" and session.status == "done"
    assert git(tmp_git_repo, "show", f"{session.workspace.branch}:notes.txt") == "add sums two numbers"
    assert any("delegated the task to the coding agent" in m.text for m in rec.of(p.SystemMessage, "s"))
    planner_tools, coding_tools = policy.seen_tools["planner"], policy.seen_tools["coding"]  # type: ignore[attr-defined]
    assert "delegate_coding_agent" in planner_tools and not planner_tools & {
        "write_file",
        "shell_command",
        "patch_file",
    }
    assert "write_file" in coding_tools and "delegate_coding_agent" not in coding_tools
    # Later messages go to the coding agent.
    assert (await backend.run_op("s", p.Chat(message="one more thing"))).ok
    assert any(m.name == "shell_command" for m in rec.of(p.ToolCallFinished, "s"))


async def test_stop_and_retry_work_after_the_hand_over(make_backend) -> None:
    backend, rec = make_backend(ScriptedModel(_policy(coding_cmd="sleep 37.25")), agent="PlanAct", endless_mode=True)
    assert (await backend.run_op("s", p.Chat(message="yes, go ahead"))).ok
    chat = asyncio.create_task(backend.run_op("s", p.Chat(message="one more thing")))
    for _ in range(200):
        if any(m.name == "shell_command" for m in rec.of(p.ToolCallStarted, "s")):
            break
        await asyncio.sleep(0.05)
    assert (await backend.run_op("s", p.StopAgent())).ok
    stopped = await asyncio.wait_for(chat, 5)
    assert stopped.error_kind == "stopped"
    session = backend._sessions["s"]
    assert session.active_agent == "coding" and session.status == "stopped"
    retried = await backend.run_op("s", p.RetryChat())
    assert retried.ok, retried
    assert session.active_agent == "coding" and session.status == "done"


async def test_the_planner_survives_a_restart(make_config, tmp_git_repo: Path) -> None:
    from kwaak.backend import Backend, Models

    config = make_config(agent="PlanAct")
    first = Backend(
        config, tmp_git_repo, models=Models(indexing=ScriptedModel(), query=ScriptedModel(_policy())), origin="tui"
    )
    assert (await first.run_op("s", p.Chat(message="document add"))).ok
    planner_history = list(first._sessions["s"].planner.history)
    assert first._sessions["s"].active_agent == "planner"
    await first.aclose()

    again = Backend(
        config, tmp_git_repo, models=Models(indexing=ScriptedModel(), query=ScriptedModel(_policy())), origin="tui"
    )
    (snapshot,) = await again.start()
    restored = again._sessions[snapshot.session_id]
    assert restored.active_agent == "planner" and restored.planner.history == planner_history
    assert (await again.run_op("s", p.Chat(message="yes, go ahead"))).ok
    assert restored.active_agent == "coding"
    assert git(tmp_git_repo, "show", f"{restored.workspace.branch}:notes.txt") == "add sums two numbers"
    await again.aclose()
