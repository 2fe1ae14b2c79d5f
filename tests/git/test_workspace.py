from __future__ import annotations

import asyncio
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from kwaak.errors import GitError
from kwaak.executors.local import LocalExecutor
from kwaak.git.workspace import (
    cleanup_orphans,
    create_workspace,
    list_worktrees,
    remove_workspace,
    rename_branch,
    restore_workspace,
    run_git_retrying,
)
from tests.conftest import git
from tests.git.conftest import checkout_snapshot, start_then_sigkill

CREATE_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from kwaak.git.workspace import create_workspace

    async def main() -> None:
        repo, wt_dir, sid = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
        ws = await create_workspace(repo, worktrees_dir=wt_dir, branch=f"kwaak/p-{sid}", session_id=sid)
        print(ws.path, flush=True)
        if len(sys.argv) > 4:
            time.sleep(600)

    asyncio.run(main())
    """
)


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "create_ws.py"
    path.write_text(CREATE_SCRIPT)
    return path


async def test_two_agents_edit_same_file_in_parallel(tmp_git_repo: Path, tmp_path: Path) -> None:
    before = checkout_snapshot(tmp_git_repo)
    wt_dir = tmp_path / "worktrees"
    a, b = await asyncio.gather(
        create_workspace(tmp_git_repo, worktrees_dir=wt_dir, branch="kwaak/a-1", session_id="a1"),
        create_workspace(tmp_git_repo, worktrees_dir=wt_dir, branch="kwaak/b-2", session_id="b2"),
    )
    ex_a, ex_b = LocalExecutor(a.path), LocalExecutor(b.path)
    res_a, res_b = await asyncio.gather(
        ex_a.exec("for i in 1 2 3 4 5; do echo a$i >> hello.txt; sleep 0.01; done"),
        ex_b.exec("for i in 1 2 3 4 5; do echo b$i >> hello.txt; sleep 0.01; done"),
    )
    assert res_a.ok and res_b.ok
    assert (a.path / "hello.txt").read_text() == "Hello, world!\n" + "".join(f"a{i}\n" for i in range(1, 6))
    assert (b.path / "hello.txt").read_text() == "Hello, world!\n" + "".join(f"b{i}\n" for i in range(1, 6))
    assert git(a.path, "branch", "--show-current") == "kwaak/a-1"
    assert git(b.path, "branch", "--show-current") == "kwaak/b-2"
    assert a.start_ref == b.start_ref == git(tmp_git_repo, "rev-parse", "HEAD")
    assert checkout_snapshot(tmp_git_repo) == before


async def test_create_refuses_repo_without_commits(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    with pytest.raises(GitError) as info:
        await create_workspace(repo, worktrees_dir=tmp_path / "wt", branch="kwaak/x-1", session_id="x")
    assert info.value.hint and "initial commit" in info.value.hint


async def test_rename_and_remove(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/agent-1", session_id="s1")
    renamed = await rename_branch(ws, "kwaak/nicer-name-1")
    assert git(ws.path, "branch", "--show-current") == "kwaak/nicer-name-1"
    await remove_workspace(renamed)
    assert not ws.path.exists()
    assert all(info.path.resolve() != ws.path.resolve() for info in await list_worktrees(tmp_git_repo))
    # The branch survives removal (committed work is never lost) unless asked.
    assert git(tmp_git_repo, "branch", "--list", "kwaak/nicer-name-1")


async def test_parallel_creation_across_processes(tmp_git_repo: Path, tmp_path: Path) -> None:
    script, wt_dir = _script(tmp_path), tmp_path / "wt"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(script), str(tmp_git_repo), str(wt_dir), f"p{i}", stdout=asyncio.subprocess.PIPE
        )
        for i in range(6)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in procs))
    assert [p.returncode for p in procs] == [0] * 6
    paths = {Path(out.decode().strip()) for out, _ in outputs}
    registered = {info.path.resolve() for info in await list_worktrees(tmp_git_repo)}
    assert paths <= registered
    assert len(paths) == 6


async def test_retry_waits_for_a_held_lock(tmp_git_repo: Path) -> None:
    lock = tmp_git_repo / ".git" / "refs" / "heads" / "held.lock"
    lock.write_text("")

    async def release() -> None:
        await asyncio.sleep(0.3)
        lock.unlink()

    releaser = asyncio.create_task(release())
    await run_git_retrying(tmp_git_repo, "branch", "held")
    await releaser
    assert git(tmp_git_repo, "branch", "--list", "held")


async def test_retry_does_not_retry_other_errors(tmp_git_repo: Path) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(GitError):
        await run_git_retrying(tmp_git_repo, "branch", "-M", "no-such-branch", "other")
    assert loop.time() - start < 1


async def test_cleanup_orphans_after_crash(tmp_git_repo: Path, tmp_path: Path) -> None:
    before = checkout_snapshot(tmp_git_repo)
    wt_dir = tmp_path / "wt"
    argv = [sys.executable, str(_script(tmp_path)), str(tmp_git_repo), str(wt_dir), "crashed", "hang"]
    crashed = Path(start_then_sigkill(argv))
    assert crashed.is_dir()
    (crashed / "work.txt").write_text("uncommitted")

    mine = await create_workspace(tmp_git_repo, worktrees_dir=wt_dir, branch="kwaak/mine-1", session_id="mine")
    kept = await create_workspace(tmp_git_repo, worktrees_dir=wt_dir, branch="kwaak/kept-1", session_id="kept")
    stray = wt_dir / "half-made"
    stray.mkdir()

    removed = await cleanup_orphans(tmp_git_repo, wt_dir, {"kept"})
    assert sorted(p.name for p in removed) == ["crashed", "half-made"]
    assert not crashed.exists() and not stray.exists()
    assert mine.path.exists(), "a worktree of a live kwaak process must survive"
    assert kept.path.exists()
    assert git(tmp_git_repo, "branch", "--list", "kwaak/p-crashed"), "branches are kept"

    removed = await cleanup_orphans(tmp_git_repo, wt_dir, {"kept"}, include_live=True)
    assert [p.name for p in removed] == ["mine"]
    names = {info.path.name for info in await list_worktrees(tmp_git_repo)}
    assert names == {tmp_git_repo.name, "kept"}
    assert checkout_snapshot(tmp_git_repo) == before


async def test_restore_workspace_after_its_directory_vanished(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/res-1", session_id="r1")
    (ws.path / "work.txt").write_text("committed work\n")
    git(ws.path, "add", "-A")
    git(ws.path, "commit", "-q", "-m", "work")
    shutil.rmtree(ws.path)
    restored = await restore_workspace(ws, session_id="r1")
    assert (restored.path / "work.txt").read_text() == "committed work\n"
    assert git(restored.path, "branch", "--show-current") == "kwaak/res-1"
    info = {i.path.name: i for i in await list_worktrees(tmp_git_repo)}["r1"]
    assert info.owner_token is not None, "restored worktrees are locked by their owner"
    await remove_workspace(restored, delete_branch=True)
    with pytest.raises(GitError, match="no longer exists"):
        await restore_workspace(ws, session_id="r1")
