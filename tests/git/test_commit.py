from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kwaak.config import Config
from kwaak.executors.local import LocalExecutor
from kwaak.git.commit import DEFAULT_MESSAGE, clean_message, commit_changes
from kwaak.git.workspace import AgentWorkspace, create_workspace
from tests.conftest import git
from tests.git.conftest import checkout_snapshot
from tests.git.test_push import TOKEN, assert_secret_absent, git_config_list

ConfigFactory = Callable[..., Config]


async def _workspace(repo: Path, tmp_path: Path, sid: str = "c1") -> AgentWorkspace:
    return await create_workspace(repo, worktrees_dir=tmp_path / "wt", branch=f"kwaak/commit-{sid}", session_id=sid)


async def test_commit_after_completion_lints_commits_and_pushes(
    tmp_git_repo: Path, bare_remote: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    before = checkout_snapshot(tmp_git_repo)
    config = make_config(
        git={"auto_push_remote": True, "agent_user_name": "Agent K", "agent_user_email": "agent@k.test"},
        commands={"lint_and_fix": "sed -i 's/  *$//' src/calc.py"},
        github_api_key=f"text:{TOKEN}",
    )
    ws = await _workspace(tmp_git_repo, tmp_path)
    executor = LocalExecutor(ws.path)
    (ws.path / "src" / "calc.py").write_text("def add(a, b):   \n    return a + b   \n")
    (ws.path / "NOTES.md").write_text("new file\n")
    diffs: list[str] = []

    async def lint() -> None:
        assert config.commands.lint_and_fix
        await executor.exec(config.commands.lint_and_fix)

    async def message_for(diff: str) -> str:
        diffs.append(diff)
        return '```\n"feat: simplify add"\n```'

    result = await commit_changes(ws.path, config, run_lint=lint, message_for=message_for)

    assert result is not None
    assert result.message == "feat: simplify add"
    assert result.pushed and result.push_error is None
    assert result.sha == git(ws.path, "rev-parse", "HEAD")
    assert "NOTES.md" in diffs[0] and '-    """Add two numbers."""' in diffs[0]
    assert "   \n" not in diffs[0], "the message model sees the linted diff"
    assert (ws.path / "src" / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert git(ws.path, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s") == (
        "Agent K <agent@k.test>|Agent K <agent@k.test>|feat: simplify add"
    )
    assert git(ws.path, "status", "--porcelain") == ""
    assert git(bare_remote, "rev-parse", "refs/heads/kwaak/commit-c1") == result.sha
    assert checkout_snapshot(tmp_git_repo) == before
    assert_secret_absent(TOKEN, ws.path, tmp_git_repo / ".git", tmp_path / "wt")
    assert TOKEN not in git_config_list(ws.path)
    assert "Agent K" not in git_config_list(ws.path), "identity is passed by env, never written to config"


async def test_nothing_to_commit_runs_no_lint(tmp_git_repo: Path, tmp_path: Path, make_config: ConfigFactory) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)
    calls: list[str] = []

    async def lint() -> None:
        calls.append("lint")

    assert await commit_changes(ws.path, make_config(), run_lint=lint, message_for=None) is None
    assert calls == []


async def test_auto_commit_disabled_lints_but_does_not_commit(
    tmp_git_repo: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)
    head = git(ws.path, "rev-parse", "HEAD")
    (ws.path / "a.txt").write_text("a\n")
    calls: list[str] = []

    async def lint() -> None:
        calls.append("lint")

    config = make_config(git={"auto_commit_disabled": True})
    assert await commit_changes(ws.path, config, run_lint=lint, message_for=None) is None
    assert calls == ["lint"]
    assert git(ws.path, "rev-parse", "HEAD") == head


async def test_default_message_when_generation_off_or_failing(
    tmp_git_repo: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)

    async def boom(diff: str) -> str:
        raise RuntimeError("model down")

    async def never(diff: str) -> str:
        raise AssertionError("must not be called")

    (ws.path / "a.txt").write_text("a\n")
    first = await commit_changes(ws.path, make_config(), run_lint=None, message_for=boom)
    (ws.path / "b.txt").write_text("b\n")
    off = make_config(git={"generate_commit_message": False})
    second = await commit_changes(ws.path, off, run_lint=None, message_for=never)
    assert first is not None and second is not None
    assert first.message == second.message == DEFAULT_MESSAGE
    assert not first.pushed and first.push_error is None, "auto_push_remote is off in the test config"
    assert git(ws.path, "log", "--format=%s", "-2").splitlines() == [DEFAULT_MESSAGE, DEFAULT_MESSAGE]


async def test_lint_that_reverts_everything_leaves_no_commit(
    tmp_git_repo: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)
    (ws.path / "junk.txt").write_text("junk\n")

    async def lint() -> None:
        (ws.path / "junk.txt").unlink()

    assert await commit_changes(ws.path, make_config(), run_lint=lint, message_for=None) is None


async def test_push_failure_is_reported_not_raised(
    tmp_git_repo: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)
    git(tmp_git_repo, "remote", "set-url", "origin", str(tmp_path / "does-not-exist.git"))
    (ws.path / "a.txt").write_text("a\n")
    config = make_config(git={"auto_push_remote": True})
    result = await commit_changes(ws.path, config, run_lint=None, message_for=None)
    assert result is not None and not result.pushed
    assert result.push_error and "hint:" in result.push_error


async def test_no_remote_means_no_push(tmp_git_repo: Path, tmp_path: Path, make_config: ConfigFactory) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)
    git(tmp_git_repo, "remote", "remove", "origin")
    (ws.path / "a.txt").write_text("a\n")
    result = await commit_changes(ws.path, make_config(git={"auto_push_remote": True}), run_lint=None, message_for=None)
    assert result is not None and not result.pushed and result.push_error is None


def test_clean_message() -> None:
    cases: dict[str, Any] = {
        "fix: x": "fix: x",
        "'fix: quoted'": "fix: quoted",
        "```text\nfeat: fenced\n```": "feat: fenced",
        "  \n": "",
    }
    assert {raw: clean_message(raw) for raw in cases} == cases


async def test_bytecode_caches_left_by_test_runs_are_never_committed(
    tmp_git_repo: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    """A repository without a .gitignore: the agent's test run leaves __pycache__; only the source is committed."""
    import subprocess
    import sys

    ws = await _workspace(tmp_git_repo, tmp_path)
    (ws.path / "pkg").mkdir()
    (ws.path / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ws.path)}
    subprocess.run([sys.executable, "-c", "import pkg"], cwd=ws.path, env=env, check=True)
    (ws.path / "stray.pyc").write_bytes(b"\x00")
    assert list((ws.path / "pkg" / "__pycache__").glob("*.pyc")), "python wrote its cache"
    result = await commit_changes(ws.path, make_config(), run_lint=None, message_for=None)
    assert result is not None
    files = git(ws.path, "show", "--name-only", "--format=", result.sha).split()
    assert files == ["pkg/__init__.py"]
    assert await commit_changes(ws.path, make_config(), run_lint=None, message_for=None) is None
