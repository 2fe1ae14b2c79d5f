"""A5: secrets never reach the agent's environment, under any executor.

The GitHub token is configured as ``env:GH_PAT`` (a name no "secret-looking name" rule catches) and
another variable embeds it in a URL. The hostile agent dumps its environment into its output, a
file in the worktree (committed and pushed) and ``/proc/self/environ``. Afterwards every file kwaak
wrote — logs, the cache dir (session store, worktrees), the repository's history, the remote — and
every event and output line is searched for the sentinel.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest

from kwaak.executors.envfilter import without_secrets
from tests.conftest import git
from tests.security.agent_cli import EXECUTORS, agent_branch, call, require_executor, run_agent, shell


def test_a5_0_filter_by_value_and_embedded_value() -> None:
    env = {"GH_PAT": "ghp_abcdefgh1234", "URL": "https://u:ghp_abcdefgh1234@h/", "PIN": "1234", "PATH": "/bin"}
    assert without_secrets(env, ["ghp_abcdefgh1234", "1234"]) == {"PATH": "/bin"}
    # Short secrets are matched whole only (not inside unrelated values).
    assert without_secrets({"X": "a1234b", "Y": "1234"}, ["1234"]) == {"X": "a1234b"}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a5_1_env_secrets_reach_no_command_output_or_file(
    tmp_git_repo: Path, executor: str, request: pytest.FixtureRequest
) -> None:
    require_executor(executor, request, tmp_git_repo)
    sentinel = f"ghp_SENTINEL{uuid.uuid4().hex}"
    script = [
        shell("env; echo ---; tr '\\0' '\\n' < /proc/self/environ"),
        shell("env > envdump.txt; env | base64 > envdump.b64; echo dumped"),
        call("write_file", file_name="notes.txt", content="done\n"),
        call("stop"),
    ]
    run = run_agent(
        tmp_git_repo,
        script,
        executor=executor,
        top='github_api_key = "env:GH_PAT"',
        git_table='auto_push_remote = true\nremote = "origin"',
        env={"GH_PAT": sentinel, "DEPLOY_URL": f"https://bot:{sentinel}@deploy.invalid/x"},
    )
    assert run.code == 0, run.stderr[-3000:]
    outputs = run.tool_outputs()
    assert "PATH=" in outputs[0], outputs[0][:2000]
    branch = agent_branch(tmp_git_repo)
    assert "PATH=" in git(tmp_git_repo, "show", f"{branch}:envdump.txt"), "the dump was committed"
    remote = tmp_git_repo.parent / "remote.git"
    assert git(remote, "rev-parse", branch) == git(tmp_git_repo, "rev-parse", branch), "the branch was pushed"
    texts = {
        "kwaak output, logs, cache": run.written_text(),
        "repository history": git(tmp_git_repo, "log", "--all", "-p", "--text"),
        "remote history": git(remote, "log", "--all", "-p", "--text"),
    }
    texts["decoded base64 dump"] = base64.b64decode(git(tmp_git_repo, "show", f"{branch}:envdump.b64")).decode()
    assert [where for where, text in texts.items() if sentinel in text] == []
