"""Batch runs and overlap detection, with a scripted model and real worktrees."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from kwaak.backend import Backend, Models
from kwaak.errors import ConfigError
from kwaak.git.overlap import Hunk, find_overlaps, parse_hunks
from kwaak.headless.batch import BatchTask, batch_jobs, load_tasks, summary_table
from kwaak.headless.runner import HeadlessRunner
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.messages import AssistantMessage, Message, ToolResult
from tests.conftest import git
from tests.scripted import json_lines, run_kwaak, tool, write_scripted_config


def _task_policy(messages: list[Message], tools: object) -> Step:
    """Write `<task>.txt` with the task text, then stop."""
    task = next(m.content for m in reversed(messages) if m.kind == "user" and m.content.startswith("task "))
    done = any(isinstance(m, ToolResult) and m.name == "write_file" for m in messages)
    if done:
        return call("stop")
    name = task.split()[1]
    return call("write_file", file_name=f"out/{name}.txt", content=f"{task}\n")


async def test_batch_of_six_with_parallel_three(make_config, tmp_git_repo: Path) -> None:
    from kwaak import protocol as p

    config = make_config(limits={"max_parallel_agents": 3}, endless_mode=True)
    models = Models(indexing=ScriptedModel(prompt_reply="batch task"), query=ScriptedModel(_task_policy, delay=0.2))
    tasks = [BatchTask(prompt=f"task t{i} please", name=f"t{i}") for i in range(6)]
    tasks[5] = BatchTask(prompt="task t5 please", name="t5", max_steps=1)  # runs out of budget
    running: list[int] = []
    peak = [0]

    def watch(event: p.Event) -> None:
        if isinstance(event.msg, p.StatusChanged):
            if event.msg.status == "running":
                running.append(1)
                peak[0] = max(peak[0], len(running))
            elif running and event.msg.status in ("done", "budget_exhausted", "failed", "idle"):
                running.pop()

    runner = HeadlessRunner(config, tmp_git_repo, models=models, index=False, listeners=[watch])
    results = await runner.run(batch_jobs(tasks))
    assert [r.name for r in results] == [f"t{i}" for i in range(6)]
    assert [r.ok for r in results] == [True] * 5 + [False]
    assert results[5].error_kind == "budget_exhausted" and results[5].status == "budget_exhausted"
    assert runner.exit_code(results) == 3
    assert peak[0] == 3
    branches = {r.branch for r in results}
    assert len(branches) == 6 and all(b and b.startswith("kwaak/") for b in branches)
    for result in results[:5]:
        assert git(tmp_git_repo, "show", f"{result.branch}:out/{result.name}.txt") == f"task {result.name} please"
    table = summary_table(results)
    assert "5/6 tasks completed" in table and "budget_exhausted" in table and "t3" in table


def test_load_tasks_toml_jsonl_and_errors(tmp_path: Path) -> None:
    toml_file = tmp_path / "tasks.toml"
    toml_file.write_text(
        'parallel = 2\n[[task]]\nprompt = "a"\nmax_steps = 3\n[[task]]\nprompt = "b"\nexecutor = "local"\n'
    )
    batch = load_tasks(toml_file)
    assert batch.parallel == 2 and [t.prompt for t in batch.tasks] == ["a", "b"]
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text(json.dumps({"prompt": "x", "pull_request": True}) + "\n\n" + json.dumps({"prompt": "y"}) + "\n")
    assert [t.pull_request for t in load_tasks(jsonl).tasks] == [True, False]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[task]]\nname = "no prompt"\n')
    with pytest.raises(ConfigError, match="task 1: prompt"):
        load_tasks(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text('[[task]]\nprompt = "a"\nmax_stepz = 3\n')
    with pytest.raises(ConfigError, match="max_stepz"):
        load_tasks(typo)


def test_parse_hunks_and_overlap_rules() -> None:
    diff = (
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -3,2 +3,3 @@\n-a\n-b\n+c\n+d\n+e\n"
        "@@ -10,0 +12 @@\n+new\ndiff --git a/new.py b/new.py\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+hi\n"
    )
    assert parse_hunks(diff) == [Hunk("x.py", 3, 2), Hunk("x.py", 10, 0), Hunk("new.py", 0, 0)]
    assert Hunk("x.py", 3, 2).overlaps(Hunk("x.py", 4, 5))
    assert not Hunk("x.py", 3, 2).overlaps(Hunk("x.py", 5, 1))
    assert Hunk("x.py", 10, 0).overlaps(Hunk("x.py", 11, 1))  # insertion right before a changed line
    assert not Hunk("x.py", 3, 2).overlaps(Hunk("y.py", 3, 2))


async def test_overlap_of_two_agents_editing_the_same_function(
    make_config, tmp_git_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same_function = 'def add(a, b):\n    """Add two numbers."""\n    return {}\n'
    scripts = {
        "agent one": [
            call("write_file", file_name="src/calc.py", content=same_function.format("a + b + 1")),
            call("stop"),
        ],
        "agent two": [call("write_file", file_name="src/calc.py", content=same_function.format("b + a")), call("stop")],
        "agent three": [call("write_file", file_name="README.md", content="docs\n"), call("stop")],
    }

    def policy(messages: list[Message], tools: object) -> AssistantMessage | Step:
        task = next(m.content for m in messages if m.kind == "user" and m.content.startswith("agent"))
        steps = scripts[task]
        done = sum(isinstance(m, ToolResult) for m in messages)
        return steps[min(done, len(steps) - 1)]

    from kwaak import protocol as p

    models = Models(indexing=ScriptedModel(), query=ScriptedModel(policy))
    async with Backend(make_config(), tmp_git_repo, models=models, buffer_events=False) as backend:
        for sid, task in (("a", "agent one"), ("b", "agent two"), ("c", "agent three")):
            assert (await backend.run_op(sid, p.Chat(message=task))).ok
        branches = {sid: backend._sessions[sid].workspace.branch for sid in "abc"}
        overlaps = await find_overlaps(tmp_git_repo, branches)
        assert [(o.path, o.first, o.second) for o in overlaps] == [("src/calc.py", "a", "b")]
        assert overlaps[0].first_lines == (3, 3)
        # /diff pull warns about the overlap with the other agent before pulling.
        warnings: list[str] = []
        backend.add_listener(
            lambda e: (
                warnings.append(e.msg.text) if isinstance(e.msg, p.SystemMessage) and e.msg.level == "warning" else None
            )
        )
        assert (await backend.run_op("a", p.PullDiff())).ok
        assert any("src/calc.py" in w and "overlap" in w.lower() for w in warnings), warnings
        config = backend.config
    # `kwaak sessions` lists the saved sessions and warns about the overlap too.
    from types import SimpleNamespace

    from kwaak.commands import sessions_cmd

    capsys.readouterr()
    await asyncio.to_thread(sessions_cmd.run, SimpleNamespace(config=config, repo_root=tmp_git_repo))
    listing = capsys.readouterr().out
    assert listing.count("kwaak/") >= 3
    assert "warning:" in listing and "src/calc.py" in listing


def test_batch_cli_jsonl(tmp_git_repo: Path) -> None:
    script = [tool("shell_command", cmd="echo working"), tool("stop")]
    cfg = write_scripted_config(tmp_git_repo, script, extra="[git]\nauto_push_remote = false")
    tasks = tmp_git_repo.parent / "tasks.jsonl"
    tasks.write_text("\n".join(json.dumps({"prompt": f"job {i}", "name": f"j{i}"}) for i in range(3)))
    proc = run_kwaak(tmp_git_repo, cfg, "-s", "batch", str(tasks), "--parallel", "2", "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr
    records = json_lines(proc.stdout)
    finished = [r for r in records if r["type"] == "task_finished"]
    assert sorted(r["name"] for r in finished) == ["j0", "j1", "j2"]
    summary = records[-1]
    assert summary["type"] == "batch_finished" and summary["exit_code"] == 0
    assert all(r["branch"].startswith("kwaak/") for r in summary["results"])
    sessions = {r["session_id"] for r in records if r["type"] == "tool_call_finished"}
    assert len(sessions) == 3
