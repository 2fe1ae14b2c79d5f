"""``run-agent --model`` and a batch task's ``model``: the agent talks to that model; the meter names it."""

from __future__ import annotations

from pathlib import Path

from kwaak.headless.batch import BatchTask
from tests.conftest import git
from tests.scripted import json_lines, run_kwaak, tool, write_scripted_config


def test_run_agent_model_flag(tmp_git_repo: Path) -> None:
    config = write_scripted_config(tmp_git_repo, [tool("stop")])
    result = run_kwaak(tmp_git_repo, config, "run-agent", "-s", "-i", "stop", "--output", "jsonl", "--model", "other-1")
    assert result.returncode == 0, result.stderr
    meters = [e["context"] for e in json_lines(result.stdout) if e["type"] == "usage_updated" and e.get("context")]
    assert meters and {m["model"] for m in meters} == {"other-1"}
    assert all(m["used_tokens"] > 0 for m in meters)
    # The agent committed nothing: its branch is gone with the session.
    assert git(tmp_git_repo, "branch", "--list", "kwaak/*") == ""


def test_batch_task_model_field() -> None:
    task = BatchTask.model_validate({"prompt": "x", "model": "gpt-4o"})
    assert task.model == "gpt-4o"
