"""Headless end to end: `kwaak run-agent` edits a file and opens a pull request.

The real CLI runs the Scripted provider; the fake GitHub server receives the PR, the bare
``origin`` receives the pushed branch, and the token appears in no file of the workspace or repo.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.fakes.github_server import FakeGitHub
from tests.github.conftest import GITHUB_TOKEN
from tests.scripted import json_lines, run_kwaak, tool, write_scripted_config


def test_run_agent_edits_and_opens_a_pull_request(
    tmp_git_repo: Path, bare_remote: Path, fake_github: FakeGitHub
) -> None:
    fake_github.remote = bare_remote
    script = [
        tool("write_file", file_name="CHANGELOG.md", content="- retries\n"),
        tool("create_or_update_pull_request", title="feat: add a changelog", pull_request_body="Adds a changelog."),
        tool("stop"),
    ]
    github = f"""github_api_key = "text:{GITHUB_TOKEN}"
[git]
owner = "acme"
repository = "widgets"
main_branch = "main"
auto_push_remote = false
[github]
api_base_url = "{fake_github.url}"
"""
    cfg = write_scripted_config(tmp_git_repo, script, extra=github)
    proc = run_kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", "add a changelog", "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    pr_call = next(
        e for e in events if e["type"] == "tool_call_finished" and e["name"] == "create_or_update_pull_request"
    )
    assert pr_call["ok"], pr_call["output"]
    assert len(fake_github.pulls) == 1
    pull = next(iter(fake_github.pulls.values()))
    branch = events[-1]["branch"]
    assert pull["title"] == "feat: add a changelog" and pull["head"]["ref"] == branch and pull["base"]["ref"] == "main"
    assert pull["html_url"] in pr_call["output"]
    assert git(bare_remote, "show", f"{branch}:CHANGELOG.md") == "- retries"
    # The token is nowhere on disk: not in the repo's git config, files, or the pushed remote.
    for root in (tmp_git_repo, bare_remote, tmp_git_repo.parent / "cache", tmp_git_repo.parent / "logs"):
        for path in root.rglob("*"):
            if path.is_file() and "objects" not in path.parts:
                assert GITHUB_TOKEN.encode() not in path.read_bytes(), path
    assert GITHUB_TOKEN not in proc.stdout + proc.stderr
