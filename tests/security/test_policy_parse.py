"""A8: the command policy holds against rewritten, wrapped and nested forms of a forbidden command.

Unit level: :func:`kwaak.tools.policy.decide` on each bypass of issue 17 and more. End to end: a
scripted agent tries them through ``kwaak run-agent`` under each executor; every one is refused
(the model reads the refusal) and, where the remote is reachable, nothing was force-pushed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.config.model import PolicyConfig, PolicyRule
from kwaak.tools.policy import decide
from tests.conftest import git
from tests.security.agent_cli import EXECUTORS, call, require_executor, run_agent, shell

FORBID = PolicyConfig(
    rules=(
        PolicyRule(prefix="git push --force", decision="forbid", reason="no force pushes"),
        PolicyRule(prefix="git push -f", decision="forbid"),
        PolicyRule(prefix="rm -rf", decision="prompt"),
    )
)

BYPASSES = [
    pytest.param("git push origin main --force", "forbid", id="A8.1-option-order"),
    pytest.param("sh -c 'git push --force'", "forbid", id="A8.2-sh-c"),
    pytest.param('bash -lc "git push origin --force"', "forbid", id="A8.3-bash-lc"),
    pytest.param("env X=1 GIT_TRACE=0 git push --force", "forbid", id="A8.4-env"),
    pytest.param("echo main | xargs git push --force origin", "forbid", id="A8.5-xargs"),
    pytest.param("eval 'git push --force'", "forbid", id="A8.6-eval"),
    pytest.param("nohup timeout -s KILL 30 sudo -u me git push -f", "forbid", id="A8.7-wrappers"),
    pytest.param("command exec git push --force", "forbid", id="A8.8-command-exec"),
    pytest.param("X=$(git push --force)", "forbid", id="A8.9-substitution"),
    pytest.param("cd x && (echo `git push -f`)", "forbid", id="A8.10-subshell-backticks"),
    pytest.param("/usr/bin/git push --force", "forbid", id="A8.11-path"),
    pytest.param("g\\it push '--force'", "forbid", id="A8.12-quoting"),
    pytest.param("env -S 'git push --force'", "forbid", id="A8.13-env-S"),
    pytest.param("git push -uf origin main", "forbid", id="A8.14-bundled-short"),
    pytest.param("bash -c \"bash -c 'eval git push --force'\"", "forbid", id="A8.15-nested"),
    pytest.param("rm -r -f build", "prompt", id="A8.16-split-short-options"),
    pytest.param("$CMD push --force", "prompt", id="A8.17-dynamic-name"),
    pytest.param("git push $FLAGS", "prompt", id="A8.18-dynamic-arg"),
    pytest.param("git push --forc*", "prompt", id="A8.19-glob"),
    pytest.param("echo 'git push --force' | sh", "prompt", id="A8.20-stdin-shell"),
    pytest.param('sh -c "$SCRIPT"', "prompt", id="A8.21-dynamic-script"),
    pytest.param("git push --force 'unterminated", "forbid", id="A8.22-parse-error"),
    pytest.param("if true; then git push --force; fi", "forbid", id="A8.23-compound"),
]


@pytest.mark.parametrize(("command", "decision"), BYPASSES)
def test_a8_bypass_is_caught(command: str, decision: str) -> None:
    assert decide(FORBID, command).decision == decision


@pytest.mark.parametrize(
    "command",
    [
        "git push origin main",
        "git status && git diff",
        "echo 'git push --force'",
        "git commit -m 'do not git push --force'",
        "git push --force-with-lease",
        "python -m pytest -x",
        "rm build.log",
    ],
)
def test_a8_harmless_commands_stay_allowed(command: str) -> None:
    assert decide(FORBID, command).decision == "allow"


def test_a8_unparsable_without_matching_rules_is_allowed() -> None:
    assert decide(PolicyConfig(), "$(echo x) 'oops").decision == "allow"
    allow_only = PolicyConfig(rules=(PolicyRule(prefix="ls", decision="allow"),))
    assert decide(allow_only, "$CMD").decision == "allow"


CLI_BYPASSES = [
    "git push origin HEAD:refs/heads/pwned1 --force",
    "sh -c 'git push origin HEAD:refs/heads/pwned2 --force'",
    "bash -lc 'git push --force origin HEAD:refs/heads/pwned3'",
    "env X=1 git push origin HEAD:refs/heads/pwned4 --force",
    "echo HEAD:refs/heads/pwned5 | xargs git push --force origin",
    "eval 'git push -f origin HEAD:refs/heads/pwned6'",
]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a8_policy_bypasses_through_run_agent(
    tmp_git_repo: Path, executor: str, request: pytest.FixtureRequest
) -> None:
    require_executor(executor, request, tmp_git_repo)
    script = [shell(cmd) for cmd in CLI_BYPASSES] + [shell("echo still-working"), call("stop")]
    rules = """
[[policy.rules]]
prefix = "git push --force"
decision = "forbid"
reason = "no force pushes"
[[policy.rules]]
prefix = "git push -f"
decision = "forbid"
"""
    run = run_agent(tmp_git_repo, script, executor=executor, extra=rules)
    assert run.code == 0, run.stderr[-3000:]
    outputs = run.tool_outputs()
    assert len(outputs) >= len(CLI_BYPASSES) + 1
    for cmd, output in zip(CLI_BYPASSES, outputs, strict=False):
        assert "was not run" in output and "forbids" in output, (cmd, output)
    assert "still-working" in outputs[len(CLI_BYPASSES)]
    remote_refs = git(tmp_git_repo.parent / "remote.git", "for-each-ref", "--format=%(refname)")
    assert "pwned" not in remote_refs
