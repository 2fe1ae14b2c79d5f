"""Signals, wall time and cost limits of the headless verbs, on the real CLI (`batch`, `run-agent`).

SIGTERM to a batch of three agents in the middle of their tool calls must end the process with
143 within seconds, print the batch summary, and leave no tool process, worktree or git lock.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.conftest import git
from tests.reliability.headless import (
    agent_worktrees,
    kill_matching,
    kwaak_branches,
    processes_matching,
    sleep_marker,
    start_kwaak,
    start_run_agent,
    tool_started,
    write_config,
)


def _git_locks(repo: Path) -> list[str]:
    """Worktree records and git lock files left in the repository's git dir."""
    gitdir = repo / ".git"
    left = [str(p) for p in gitdir.rglob("*.lock")]
    worktrees = gitdir / "worktrees"
    return left + ([str(p) for p in worktrees.iterdir()] if worktrees.exists() else [])


def _wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition never became true")


def test_sigterm_to_a_parallel_batch_mid_tool_exits_143_with_a_summary_and_cleans_up(tmp_git_repo: Path) -> None:
    marker = sleep_marker()
    script = [
        {"tool_calls": [{"name": "write_file", "arguments": {"file_name": "saved.txt", "content": "keep\n"}}]},
        {"tool_calls": [{"name": "shell_command", "arguments": {"cmd": marker}}]},
        {"tool_calls": [{"name": "stop", "arguments": {}}]},
    ]
    cfg = write_config(tmp_git_repo, script)
    tasks = tmp_git_repo.parent / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"prompt": f"task {i}", "name": f"t{i}"}) + "\n" for i in range(3)))
    run = start_kwaak(tmp_git_repo, cfg, "batch", str(tasks), "--parallel", "3", "--output", "jsonl")
    try:
        _wait_for(lambda: len(processes_matching(marker)) >= 3)
        sent = time.monotonic()
        run.proc.send_signal(signal.SIGTERM)
        code, stderr = run.finish(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        kill_matching(marker)
    assert code == 143, stderr
    assert elapsed < 5, f"batch took {elapsed:.1f}s to stop"
    assert "Traceback" not in stderr
    summary = run.events[-1]
    assert summary["type"] == "batch_finished" and summary["exit_code"] == 143
    assert [r["status"] for r in summary["results"]] == ["interrupted"] * 3
    assert all(r["exit_code"] == 143 and r["branch"].startswith("kwaak/") for r in summary["results"])
    assert processes_matching(marker) == []
    assert agent_worktrees(tmp_git_repo) == [] and _git_locks(tmp_git_repo) == []
    for branch in kwaak_branches(tmp_git_repo):  # the work done before the signal is on each branch
        assert git(tmp_git_repo, "show", f"{branch}:saved.txt") == "keep"
    assert git(tmp_git_repo, "status", "--porcelain") == ""


def test_timeout_cancels_a_long_tool_call(tmp_git_repo: Path) -> None:
    marker = f"sleep 60.{time.time_ns() % 10**8:08d}"
    script = [
        {"tool_calls": [{"name": "shell_command", "arguments": {"cmd": marker}}]},
        {"tool_calls": [{"name": "stop", "arguments": {}}]},
    ]
    run = start_run_agent(tmp_git_repo, write_config(tmp_git_repo, script), "do the task", "--timeout", "5")
    try:
        run.wait_for_event(tool_started("shell_command"))
        started = time.monotonic()
        code, stderr = run.finish(timeout=60)
    finally:
        kill_matching(marker)
    assert time.monotonic() - started < 10, "the tool call must be cut at the wall-time limit"
    assert code == 3, stderr
    final = run.events[-1]
    assert final["type"] == "session_finished" and final["status"] == "budget_exhausted"
    assert "wall_time" in final["error"]
    assert processes_matching(marker) == []
    assert agent_worktrees(tmp_git_repo) == []


def test_cost_limit_with_an_unpriced_model_fails_fast(tmp_git_repo: Path) -> None:
    cfg = write_config(tmp_git_repo, [{"tool_calls": [{"name": "stop", "arguments": {}}]}])
    started = time.monotonic()
    run = start_run_agent(tmp_git_repo, cfg, "do the task", "--max-cost", "0.5")
    code, stderr = run.finish(timeout=60)
    assert code == 2, stderr
    assert "'scripted' has no known price" in stderr and "[prices" in stderr
    assert time.monotonic() - started < 30
    assert kwaak_branches(tmp_git_repo) == [], "no agent may start"
    # With a price the same run works, and the cost is counted.
    priced = write_config(
        tmp_git_repo,
        [{"tool_calls": [{"name": "stop", "arguments": {}}]}],
        extra="[prices.scripted]\ninput = 1.0\noutput = 2.0\n",
    )
    run = start_run_agent(tmp_git_repo, priced, "do the task", "--max-cost", "0.5")
    code, stderr = run.finish(timeout=60)
    assert code == 0, stderr
    assert run.events[-1]["cost_usd"] > 0
