from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from kwaak.errors import GitError
from kwaak.git.push import auth_env, push_branch
from kwaak.git.workspace import create_workspace
from tests.conftest import git
from tests.git.http_git import serve_git

TOKEN = "ghp_SENTINEL_7f3a9c1e_do_not_leak"


def assert_secret_absent(secret: str, *roots: Path) -> None:
    """No file under ``roots`` contains the secret or its Basic-auth encoding."""
    needles = (secret.encode(), base64.b64encode(f"x-access-token:{secret}".encode()))
    for root in roots:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
        for path in files:
            data = path.read_bytes()
            assert not any(n in data for n in needles), f"secret found in {path}"


def git_config_list(repo: Path) -> str:
    return subprocess.run(["git", "config", "--list", "--show-origin"], cwd=repo, capture_output=True, text=True).stdout


@pytest.fixture
def http_remote(tmp_path: Path, tmp_git_repo: Path):  # type: ignore[no-untyped-def]
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(served / "proj.git")], check=True)
    with serve_git(served, TOKEN) as server:
        git(tmp_git_repo, "remote", "add", "web", server.url("proj.git"))
        yield server


async def test_push_with_token_over_http(tmp_git_repo: Path, tmp_path: Path, http_remote) -> None:  # type: ignore[no-untyped-def]
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/push-1", session_id="p1")
    (ws.path / "new.txt").write_text("content\n")
    git(ws.path, "add", "-A")
    git(ws.path, "commit", "-q", "-m", "agent work")
    await push_branch(ws.path, "kwaak/push-1", remote="web", token=TOKEN)

    served = http_remote.root / "proj.git"
    assert git(served, "rev-parse", "refs/heads/kwaak/push-1") == git(ws.path, "rev-parse", "HEAD")
    assert any(h.startswith("Basic ") for h in http_remote.auth_headers)
    assert git(ws.path, "rev-parse", "--abbrev-ref", "kwaak/push-1@{upstream}") == "web/kwaak/push-1"
    assert git(tmp_git_repo, "remote", "get-url", "web") == http_remote.url("proj.git")
    assert_secret_absent(TOKEN, ws.path, tmp_git_repo, tmp_path / "wt")
    assert TOKEN not in git_config_list(ws.path) and TOKEN not in git_config_list(tmp_git_repo)


async def test_push_with_wrong_or_missing_token_fails_clearly(tmp_git_repo: Path, http_remote) -> None:  # type: ignore[no-untyped-def]
    git(tmp_git_repo, "branch", "feature")
    with pytest.raises(GitError) as info:
        await push_branch(tmp_git_repo, "feature", remote="web", token="wrong-token-value", timeout=60)
    assert info.value.hint and "github_api_key" in info.value.hint
    assert "wrong-token-value" not in info.value.render()
    with pytest.raises(GitError):
        await push_branch(tmp_git_repo, "feature", remote="web", token=None, timeout=60)


async def test_push_to_missing_remote(tmp_git_repo: Path) -> None:
    with pytest.raises(GitError) as info:
        await push_branch(tmp_git_repo, "main", remote="nope")
    assert "nope" in info.value.message
    assert info.value.hint and "git remote add" in info.value.hint


async def test_push_rejected_non_fast_forward(tmp_git_repo: Path, bare_remote: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare_remote), str(other))
    (other / "x.txt").write_text("x\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "diverge")
    git(other, "push", "-q", "origin", "main")
    (tmp_git_repo / "y.txt").write_text("y\n")
    git(tmp_git_repo, "add", "-A")
    git(tmp_git_repo, "commit", "-q", "-m", "local")
    with pytest.raises(GitError) as info:
        await push_branch(tmp_git_repo, "main")
    assert info.value.hint and "diverged" in info.value.hint


def test_auth_env_for_ssh_remote_pushes_over_https() -> None:
    env = auth_env("git@github.com:owner/repo.git", "tok", base={"GIT_CONFIG_COUNT": "2"})
    assert env["GIT_CONFIG_COUNT"] == "4"
    assert env["GIT_CONFIG_KEY_2"] == "url.https://github.com/.pushInsteadOf"
    assert env["GIT_CONFIG_VALUE_2"] == "git@github.com:"
    assert env["GIT_CONFIG_KEY_3"] == "http.https://github.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_3"] == "Authorization: Basic " + base64.b64encode(b"x-access-token:tok").decode()


def test_auth_env_variants() -> None:
    ssh = auth_env("ssh://git@example.com:2222/o/r.git", "tok", base={})
    assert ssh["GIT_CONFIG_VALUE_0"] == "ssh://git@example.com:2222/"
    assert ssh["GIT_CONFIG_KEY_1"] == "http.https://example.com/.extraHeader"
    assert auth_env("/srv/git/repo.git", "tok", base={}) == {"GIT_TERMINAL_PROMPT": "0"}
    assert auth_env("https://github.com/o/r", None, base={}) == {"GIT_TERMINAL_PROMPT": "0"}
