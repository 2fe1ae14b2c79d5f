"""Agent branches without commits are dropped when their session ends; a resumed session re-creates them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from kwaak.errors import GitError
from kwaak.git.workspace import create_workspace, remove_workspace, restore_workspace
from tests.conftest import git


def _branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "kwaak/*", "--format=%(refname:short)").split()


async def test_unused_branch_is_dropped_and_recreated_on_resume(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/idle-1", session_id="s1")
    await remove_workspace(ws, drop_unused_branch=True)
    assert _branches(tmp_git_repo) == []
    with pytest.raises(GitError, match="no longer exists"):
        await restore_workspace(ws, session_id="s1")  # only a session that knows it dropped the branch re-creates it
    restored = await restore_workspace(ws, session_id="s1", recreate_missing=True)
    assert (restored.path / ".git").exists()
    assert _branches(tmp_git_repo) == ["kwaak/idle-1"]
    assert git(restored.path, "rev-parse", "HEAD") == ws.start_ref
    await remove_workspace(restored, drop_unused_branch=True)


async def test_branch_with_commits_is_kept(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/busy-1", session_id="s2")
    (ws.path / "new.txt").write_text("work\n")
    git(ws.path, "add", "new.txt")
    git(ws.path, "commit", "-q", "-m", "work")
    await remove_workspace(ws, drop_unused_branch=True)
    assert _branches(tmp_git_repo) == ["kwaak/busy-1"]


async def test_resume_never_passes_a_stored_start_ref_that_is_not_a_sha(tmp_git_repo: Path, tmp_path: Path) -> None:
    # A tampered session store must not smuggle git options through the start ref.
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/x-1", session_id="s3")
    await remove_workspace(ws, drop_unused_branch=True)
    evil = dataclasses.replace(ws, start_ref="--orphan=pwned")
    with pytest.raises(GitError, match="no longer exists"):
        await restore_workspace(evil, session_id="s3", recreate_missing=True)
    assert _branches(tmp_git_repo) == []
    assert "pwned" not in git(tmp_git_repo, "branch", "--all")


async def test_branch_whose_commits_were_undone_is_kept(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/undo-1", session_id="s4")
    (ws.path / "new.txt").write_text("work\n")
    git(ws.path, "add", "new.txt")
    git(ws.path, "commit", "-q", "-m", "work")
    git(ws.path, "reset", "-q", "--hard", ws.start_ref)
    await remove_workspace(ws, drop_unused_branch=True)
    assert _branches(tmp_git_repo) == ["kwaak/undo-1"]


async def test_a_session_that_committed_nothing_resumes_after_its_branch_was_dropped(
    make_config: Any, tmp_git_repo: Path
) -> None:
    from kwaak import protocol as p
    from kwaak.backend import Backend, Models
    from kwaak.llm.testing import ScriptedModel, call

    config = make_config()
    models = Models(indexing=ScriptedModel(prompt_reply="Look"), query=ScriptedModel([call("stop")]))
    backend = Backend(config, tmp_git_repo, models=models, buffer_events=False, origin="tui")
    await backend.start()
    assert (await backend.run_op("s1", p.Chat(message="just look"))).ok
    branch = backend._sessions["s1"].workspace.branch  # type: ignore[union-attr]
    await backend.aclose()
    assert _branches(tmp_git_repo) == []  # nothing committed: no empty branch left behind

    models2 = Models(
        indexing=ScriptedModel(),
        query=ScriptedModel([call("write_file", file_name="n.txt", content="x\n"), call("stop")]),
    )
    again = Backend(config, tmp_git_repo, models=models2, buffer_events=False, origin="tui")
    await again.start()
    done = await again.run_op("s1", p.Chat(message="now write"))
    assert done.ok, done
    await again.aclose()
    assert _branches(tmp_git_repo) == [branch]
    assert git(tmp_git_repo, "show", f"{branch}:n.txt") == "x"
