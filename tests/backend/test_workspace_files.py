"""`[workspace] copy` on real repositories and worktrees, including hostile symlinks (attack tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kwaak.backend.workspace_files import copy_into_worktree
from kwaak.config.model import WorkspaceConfig
from kwaak.executors.hostenv import user_virtualenvs, without_own_virtualenv
from kwaak.git.workspace import create_workspace
from tests.conftest import git


@pytest.fixture
async def worktree(tmp_git_repo: Path, tmp_path: Path) -> Path:
    (tmp_git_repo / ".gitignore").write_text(".env\nlocal/\nlinked*\n")
    git(tmp_git_repo, "add", ".gitignore")
    git(tmp_git_repo, "commit", "-q", "-m", "ignore")
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/t-1", session_id="t1")
    return ws.path


async def test_copies_ignored_files_and_directories(tmp_git_repo: Path, worktree: Path) -> None:
    (tmp_git_repo / ".env").write_text("A=1\n")
    (tmp_git_repo / ".env").chmod(0o600)
    (tmp_git_repo / "local" / "deep").mkdir(parents=True)
    (tmp_git_repo / "local" / "deep" / "x.json").write_text("{}")
    report = await copy_into_worktree(tmp_git_repo, worktree, (".env", "local"))
    assert sorted(report.copied) == [".env", "local/deep/x.json"]
    assert (worktree / ".env").read_text() == "A=1\n"
    assert (worktree / ".env").stat().st_mode & 0o777 == 0o600
    assert git(worktree, "status", "--porcelain") == ""  # nothing for the agent's commits


async def test_untracked_but_not_ignored_and_tracked_files_are_skipped(tmp_git_repo: Path, worktree: Path) -> None:
    (tmp_git_repo / "notes.txt").write_text("private notes\n")
    (tmp_git_repo / "hello.txt").write_text("changed in the checkout\n")
    report = await copy_into_worktree(tmp_git_repo, worktree, ("*.txt",))
    assert report.copied == []
    assert ("notes.txt", "not git-ignored: the agent's commits would include it (add it to .gitignore)") in (
        report.skipped
    )
    assert not (worktree / "notes.txt").exists()
    assert (worktree / "hello.txt").read_text() == "Hello, world!\n"  # the tracked file is not overwritten


async def test_symlink_out_of_the_checkout_is_refused(tmp_git_repo: Path, worktree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("aws_secret_access_key=XYZ\n")
    (tmp_git_repo / ".env").symlink_to(secret)
    (tmp_git_repo / "linked-dir").symlink_to(tmp_path, target_is_directory=True)
    (tmp_git_repo / "local").mkdir()
    (tmp_git_repo / "local" / "inner").symlink_to(secret)
    report = await copy_into_worktree(tmp_git_repo, worktree, (".env", "linked-dir", "local", "**/host-secret"))
    assert report.copied == []
    reasons = dict(report.skipped)
    assert reasons[".env"] == reasons["local/inner"] == "a symbolic link leading outside your checkout"
    files = [p for p in worktree.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert "aws_secret" not in "".join(p.read_text() for p in files)


async def test_destination_symlink_planted_by_the_agent_is_not_followed(
    tmp_git_repo: Path, worktree: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("host file\n")
    (tmp_git_repo / ".env").write_text("A=1\n")
    (worktree / ".env").symlink_to(victim)  # a resumed agent's branch may hold such a link
    outside_dir = tmp_path / "outside"
    outside_dir.mkdir()
    (tmp_git_repo / "local").mkdir()
    (tmp_git_repo / "local" / "x.cfg").write_text("cfg\n")
    (worktree / "local").symlink_to(outside_dir, target_is_directory=True)
    report = await copy_into_worktree(tmp_git_repo, worktree, (".env", "local"))
    assert report.copied == []
    assert victim.read_text() == "host file\n"
    assert list(outside_dir.iterdir()) == []


def test_copy_patterns_cannot_leave_the_repository() -> None:
    for bad in ("../secrets", "/etc/passwd", ".git/config", "a/../../b", " "):
        with pytest.raises(ValidationError, match="must be relative"):
            WorkspaceConfig.model_validate({"copy": [bad]})
    assert WorkspaceConfig.model_validate({"copy": [".env", "config/*.local.json"]}).copy_files == (
        ".env",
        "config/*.local.json",
    )


def test_kwaaks_own_venv_is_removed_from_path(tmp_path: Path) -> None:
    venv, user = tmp_path / "kwaak-venv", tmp_path / "user-venv"
    (venv / "bin").mkdir(parents=True)
    environ = {"PATH": f"{user}/bin:{venv}/bin:/usr/bin", "VIRTUAL_ENV": str(venv), "VIRTUAL_ENV_PROMPT": "(k)"}
    env = without_own_virtualenv(environ, repo_root=tmp_path / "repo", venv=venv)
    assert env["PATH"] == f"{user}/bin:/usr/bin"
    assert "VIRTUAL_ENV" not in env and "VIRTUAL_ENV_PROMPT" not in env
    user_active = without_own_virtualenv({**environ, "VIRTUAL_ENV": str(user)}, venv=venv)
    assert user_active["VIRTUAL_ENV"] == str(user)
    # a kwaak installed into the project's own venv (inside the repository) is the project's: kept
    inside = tmp_path / "repo" / ".venv"
    kept = without_own_virtualenv({"PATH": f"{inside}/bin:/usr/bin"}, repo_root=tmp_path / "repo", venv=inside)
    assert kept["PATH"] == f"{inside}/bin:/usr/bin"


def test_user_virtualenvs_shown_to_the_sandbox(tmp_path: Path) -> None:
    home = tmp_path / "home"
    venv, base, plain = home / "proj" / ".venv", tmp_path / "python311", home / "bin"
    for path in (venv / "bin", base / "bin", plain):
        path.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\n")
    (home / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a hostile or odd $HOME is never exposed
    environ = {"HOME": str(home), "VIRTUAL_ENV": str(home), "PATH": f"{venv / 'bin'}:{plain}:/usr/bin:relative/bin"}
    assert user_virtualenvs(environ) == [venv, base]
