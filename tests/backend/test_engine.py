"""The engine end to end: real sessions, worktrees, tools and commits with a scripted model."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from kwaak import protocol as p
from kwaak.errors import Transient
from kwaak.llm.testing import ScriptedModel, Step, call, say
from kwaak.messages import ToolResult
from tests.conftest import git

FIXED = 'def add(a, b):\n    """Add two numbers."""\n    return a + b + 0\n'


def snapshot(repo: Path) -> dict[str, bytes]:
    return {str(f.relative_to(repo)): f.read_bytes() for f in repo.rglob("*") if f.is_file() and ".git" not in f.parts}


async def test_multi_step_task_completes_commits_and_leaves_checkout_alone(make_backend, tmp_git_repo: Path) -> None:
    before = snapshot(tmp_git_repo)
    head_before = git(tmp_git_repo, "rev-parse", "HEAD")
    model = ScriptedModel(
        [
            Step(
                text="Let me read the file.",
                tool_calls=(("read_file_with_line_numbers", {"file_name": "src/calc.py"}),),
            ),
            call("write_file", file_name="src/calc.py", content=FIXED),
            call("run_tests"),
            Step(text="Done.", tool_calls=(("stop", {}),)),
        ]
    )
    backend, rec = make_backend(model)
    done = await backend.run_op("s1", p.Chat(message="make add robust"))
    assert done.ok, done
    session = backend._sessions["s1"]
    assert session.status == "done"
    assert session.workspace is not None
    assert (session.workspace.path / "src/calc.py").read_text() == FIXED
    # The agent's branch has a commit with the change; the user's checkout is untouched.
    branch = session.workspace.branch
    assert branch.startswith("kwaak/fix-the-calculator-")
    assert git(tmp_git_repo, "show", f"{branch}:src/calc.py") + "\n" == FIXED
    assert snapshot(tmp_git_repo) == before
    assert git(tmp_git_repo, "rev-parse", "HEAD") == head_before
    assert git(tmp_git_repo, "status", "--porcelain") == ""
    kinds = rec.kinds("s1")
    assert kinds[0] == "status_changed"
    for kind in (
        "session_renamed",
        "branch_renamed",
        "user_message",
        "assistant_message",
        "tool_call_started",
        "tool_call_finished",
        "usage_updated",
        "committed",
    ):
        assert kind in kinds
    assert kinds[-1] == "command_completed"
    assert [m.name for m in rec.of(p.ToolCallFinished, "s1")] == [
        "read_file_with_line_numbers",
        "write_file",
        "run_tests",
        "stop",
    ]
    assert all(m.ok for m in rec.of(p.ToolCallFinished, "s1"))
    assert [m.status for m in rec.of(p.StatusChanged, "s1")] == ["starting", "running", "done"]


async def test_two_sessions_run_in_parallel(make_backend) -> None:
    def script() -> list[Step]:
        return [call("shell_command", cmd="echo hi"), call("shell_command", cmd="echo again"), call("stop")]

    single, _ = make_backend(ScriptedModel(script(), delay=0.5))
    t0 = time.monotonic()
    assert (await single.run_op("solo", p.Chat(message="task"))).ok
    one = time.monotonic() - t0

    # Each backend gets its own model script; run two sessions of one backend concurrently.
    model = ScriptedModel(lambda msgs, tools: _per_session_policy(msgs), delay=0.5)
    backend, _ = make_backend(model)
    t0 = time.monotonic()
    a, b = await asyncio.gather(
        backend.run_op("a", p.Chat(message="task A")), backend.run_op("b", p.Chat(message="task B"))
    )
    both = time.monotonic() - t0
    assert a.ok and b.ok
    assert both < one * 1.6, (one, both)


def _per_session_policy(messages: list) -> Step:
    turns = sum(1 for m in messages if isinstance(m, ToolResult))
    return call("shell_command", cmd="echo step") if turns < 2 else call("stop")


async def test_stop_cancels_a_long_tool_at_once_and_session_continues(make_backend, tmp_git_repo: Path) -> None:
    model = ScriptedModel([call("shell_command", cmd="sleep 31.37"), call("stop")])
    backend, rec = make_backend(model)
    chat = asyncio.create_task(backend.run_op("s", p.Chat(message="wait a while")))
    for _ in range(200):
        if rec.of(p.ToolCallStarted, "s"):
            break
        await asyncio.sleep(0.05)
    t0 = time.monotonic()
    stopped = await backend.run_op("s", p.StopAgent())
    result = await asyncio.wait_for(chat, 5)
    assert time.monotonic() - t0 < 1.0
    assert stopped.ok
    assert not result.ok and result.error_kind == "stopped"
    assert backend._sessions["s"].status == "stopped"
    assert any(m.text == "Agent stopped" for m in rec.of(p.SystemMessage, "s"))
    # No orphaned sleep process is left behind.
    assert "sleep 31.37" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    # History stays valid: the interrupted call has a result; the session continues.
    history = backend._sessions["s"].state.history
    assert isinstance(history[-1], ToolResult) and history[-1].is_error
    again = await backend.run_op("s", p.Chat(message="carry on"))
    assert again.ok
    assert backend._sessions["s"].status == "done"


async def test_retry_after_provider_error(make_backend) -> None:
    model = ScriptedModel([Step(error=Transient("upstream 503")), call("stop")])
    backend, rec = make_backend(model)
    failed = await backend.run_op("s", p.Chat(message="hello"))
    assert not failed.ok and failed.error_kind == "transient"
    assert backend._sessions["s"].status == "failed"
    retried = await backend.run_op("s", p.RetryChat())
    assert retried.ok
    assert backend._sessions["s"].status == "done"


async def test_unknown_tool_and_bad_json_are_answered_and_run_continues(make_backend) -> None:
    model = ScriptedModel(
        [
            Step(tool_calls=(("no_such_tool", {}),)),
            Step(tool_calls=(("read_file_with_line_numbers", "{not json"),)),
            call("stop"),
        ]
    )
    backend, rec = make_backend(model)
    assert (await backend.run_op("s", p.Chat(message="go"))).ok
    finished = rec.of(p.ToolCallFinished, "s")
    assert not finished[0].ok and "does not exist" in finished[0].output
    assert not finished[1].ok and "failed to parse" in finished[1].output
    results = [m for m in backend._sessions["s"].state.history if isinstance(m, ToolResult)]
    assert len(results) == 3


async def test_step_budget_stops_the_agent(make_backend) -> None:
    model = ScriptedModel(lambda msgs, tools: call("shell_command", cmd="echo loop"))
    backend, rec = make_backend(model, limits={"agent": {"max_steps": 3}})
    done = await backend.run_op("s", p.Chat(message="loop forever"))
    assert not done.ok and done.error_kind == "budget_exhausted"
    assert "steps limit of 3" in (done.error or "")
    assert backend._sessions["s"].status == "budget_exhausted"
    assert backend._sessions["s"].meter.steps == 3


async def test_repeated_identical_failures_stop_the_agent(make_backend) -> None:
    model = ScriptedModel(lambda msgs, tools: call("read_file_with_line_numbers", file_name="missing.txt"))
    backend, _ = make_backend(model)
    done = await backend.run_op("s", p.Chat(message="read it"))
    assert not done.ok and done.error_kind == "repeated_tool_failure"


async def test_text_only_replies_pause_with_stop_on_empty_messages(make_backend) -> None:
    backend, _ = make_backend(ScriptedModel([say("What do you mean?")]), stop_on_empty_messages=True)
    assert (await backend.run_op("s", p.Chat(message="hm"))).ok
    assert backend._sessions["s"].status == "idle"


async def test_diff_and_exec_ops(make_backend) -> None:
    backend, rec = make_backend(
        ScriptedModel([call("write_file", file_name="hello.txt", content="world\n"), call("stop")])
    )
    assert (await backend.run_op("s", p.Chat(message="change hello"))).ok
    assert (await backend.run_op("s", p.ShowDiff())).ok
    diff = rec.of(p.DiffShown, "s")[-1].diff
    assert "-Hello, world!" in diff and "+world" in diff
    assert (await backend.run_op("s", p.Exec(cmd="cat hello.txt"))).ok
    assert rec.of(p.SystemMessage, "s")[-1].text.strip() == "world"


async def test_ops_on_unknown_session_fail_clearly(make_backend) -> None:
    backend, _ = make_backend(ScriptedModel())
    for op in (p.RetryChat(), p.ShowDiff(), p.StopAgent()):
        done = await backend.run_op("nope", op)
        assert not done.ok and "No agent found" in (done.error or "")


async def test_conversation_summary_reinjects_goal(make_backend) -> None:
    steps = [call("shell_command", cmd=f"echo {i}") for i in range(3)] + [call("stop")]
    query = ScriptedModel(steps, prompt_reply="# Summary\nYou ran echo.")
    backend, _ = make_backend(query, num_completions_for_summary=2)
    assert (await backend.run_op("s", p.Chat(message="the original goal"))).ok
    from kwaak.messages import SummaryMessage, messages_to_send

    history = backend._sessions["s"].state.history
    summaries = [m for m in history if isinstance(m, SummaryMessage)]
    assert summaries and "the original goal" in summaries[0].content and "# Summary" in summaries[0].content
    # What is sent after a summary starts with the system prompt and the summary.
    sent = messages_to_send(history)
    assert sent[0].kind == "system" and sent[1].kind == "summary"


async def test_quit_op_closes_the_backend_and_ends_the_event_stream(make_config, tmp_git_repo: Path) -> None:
    from kwaak.backend import Backend, Models

    model = ScriptedModel([call("write_file", file_name="q.txt", content="q\n"), call("stop")])
    backend = Backend(make_config(), tmp_git_repo, models=Models(indexing=ScriptedModel(), query=model))
    assert (await backend.run_op("s", p.Chat(message="write"))).ok
    worktree = backend._sessions["s"].workspace.path
    backend.submit("s", p.Quit())
    kinds = [event.msg.kind async for event in backend.events()]  # ends once the backend is closed
    assert "command_completed" in kinds
    assert not worktree.exists()
    assert backend.request_shutdown().done()
