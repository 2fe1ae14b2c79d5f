"""Landing agents' branches on a base with real repositories: merge, squash, rebase, conflicts, safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.errors import DirtyRepository, GitError, MergeConflict
from kwaak.git.land import CONFLICT_TRAILER, land, rebase_for_resolution
from tests.conftest import git
from tests.git.conftest import checkout_snapshot


def agent_branch(repo: Path, branch: str, files: dict[str, str], *, start: str = "main", message: str = "") -> str:
    """Commit ``files`` on a new ``branch`` from ``start`` without touching the checkout (like an agent)."""
    wt = repo.parent / f"wt-{branch.replace('/', '-')}"
    git(repo, "worktree", "add", "-q", "-b", branch, str(wt), start)
    for name, text in files.items():
        (wt / name).parent.mkdir(parents=True, exist_ok=True)
        (wt / name).write_text(text)
        git(wt, "add", name)
        git(wt, "commit", "-q", "-m", message or f"edit {name}")
    git(repo, "worktree", "remove", "--force", str(wt))
    return git(repo, "rev-parse", branch)


async def test_two_agents_land_with_squash_and_merge_and_base_has_both(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    agent_branch(repo, "kwaak/a", {"hello.txt": "Hello, agents!\n", "docs/a.md": "# A\n"})
    agent_branch(repo, "kwaak/b", {"src/calc.py": "def add(a, b):\n    return b + a\n"})
    old = git(repo, "rev-parse", "main")

    first = await land(repo, branch="kwaak/a", base="main", mode="squash", message="feat: greet agents")
    assert first.checkout_updated and first.commits == 2 and first.old_base == old
    assert git(repo, "rev-parse", "main^") == old, "a squash is one commit on the old base"
    assert git(repo, "log", "-1", "--format=%s", "main") == "feat: greet agents"

    second = await land(repo, branch="kwaak/b", base="main", mode="merge")
    parents = git(repo, "rev-list", "--parents", "-1", "main").split()[1:]
    assert parents == [first.new_base, git(repo, "rev-parse", "kwaak/b")]
    assert git(repo, "show", "main:hello.txt") == "Hello, agents!"
    assert git(repo, "show", "main:src/calc.py").endswith("return b + a")
    # The user's clean checkout on main followed, and is clean.
    assert (repo / "hello.txt").read_text() == "Hello, agents!\n"
    assert (repo / "docs" / "a.md").read_text() == "# A\n"
    assert git(repo, "status", "--porcelain") == ""
    assert second.checkout_updated and "Landed kwaak/b on main (merge" in second.describe()


async def test_landing_on_another_branch_moves_only_the_ref(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    git(repo, "branch", "release")
    agent_branch(repo, "kwaak/a", {"hello.txt": "changed\n"})
    before = checkout_snapshot(repo)
    result = await land(repo, branch="kwaak/a", base="release", mode="squash")
    assert not result.checkout_updated
    assert checkout_snapshot(repo) == before
    assert git(repo, "show", "release:hello.txt") == "changed"
    assert "Squashed commits:\n- edit hello.txt" in git(repo, "log", "-1", "--format=%B", "release")


async def test_dirty_checkout_on_base_is_never_modified(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    agent_branch(repo, "kwaak/a", {"src/calc.py": "x = 1\n"})
    (repo / "hello.txt").write_text("my own uncommitted work\n")
    (repo / "notes.txt").write_text("untracked\n")
    before = checkout_snapshot(repo)
    for mode in ("merge", "squash", "rebase"):
        with pytest.raises(DirtyRepository, match="uncommitted changes"):
            await land(repo, branch="kwaak/a", base="main", mode=mode)  # type: ignore[arg-type]
    assert checkout_snapshot(repo) == before


async def test_untracked_file_in_the_way_is_not_overwritten(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    agent_branch(repo, "kwaak/a", {"new.txt": "agent\n"})
    (repo / "new.txt").write_text("mine\n")
    old = git(repo, "rev-parse", "main")
    with pytest.raises(GitError, match="could not update your checkout"):
        await land(repo, branch="kwaak/a", base="main", mode="merge")
    assert (repo / "new.txt").read_text() == "mine\n"
    assert git(repo, "rev-parse", "main") == old


async def test_conflicting_pair_reports_the_files(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    agent_branch(repo, "kwaak/a", {"hello.txt": "from a\n"})
    agent_branch(repo, "kwaak/b", {"hello.txt": "from b\n"})
    await land(repo, branch="kwaak/a", base="main", mode="squash")
    after_a = checkout_snapshot(repo)
    for mode in ("merge", "squash", "rebase"):
        with pytest.raises(MergeConflict) as info:
            await land(repo, branch="kwaak/b", base="main", mode=mode)  # type: ignore[arg-type]
        assert info.value.files == ("hello.txt",)
    assert checkout_snapshot(repo) == after_a


async def test_rebase_replays_commits_with_their_authors(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    agent_branch(repo, "kwaak/a", {"one.txt": "1\n", "two.txt": "2\n"})
    git(repo, "commit", "-q", "--allow-empty", "-m", "base moved")
    moved = git(repo, "rev-parse", "main")
    result = await land(repo, branch="kwaak/a", base="main", mode="rebase")
    assert result.commits == 2
    assert git(repo, "log", "--format=%s", f"{moved}..main").splitlines() == ["edit two.txt", "edit one.txt"]
    assert git(repo, "rev-parse", "main~2") == moved
    assert git(repo, "log", "-1", "--format=%an", "main") == "Test User"
    assert (repo / "two.txt").read_text() == "2\n"


async def test_rebase_of_a_branch_already_on_the_base_fast_forwards(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    tip = agent_branch(repo, "kwaak/a", {"one.txt": "1\n"})
    result = await land(repo, branch="kwaak/a", base="main", mode="rebase")
    assert result.new_base == tip == git(repo, "rev-parse", "main")


async def test_nothing_to_land_and_missing_branches(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    git(repo, "branch", "kwaak/empty")
    with pytest.raises(GitError, match="nothing to land"):
        await land(repo, branch="kwaak/empty", base="main", mode="merge")
    with pytest.raises(GitError, match="'nope' does not exist"):
        await land(repo, branch="kwaak/empty", base="nope", mode="merge")


async def test_conflict_markers_left_by_an_agent_are_refused(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    agent_branch(repo, "kwaak/a", {"hello.txt": "<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n"})
    with pytest.raises(MergeConflict, match="conflict markers in hello.txt"):
        await land(repo, branch="kwaak/a", base="main", mode="squash")


async def test_attack_pathspec_magic_file_names_do_not_hide_conflict_markers(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    markers = "<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n"
    agent_branch(repo, "kwaak/a", {"hello.txt": markers, ":(exclude)hello.txt": "hide it\n"})
    with pytest.raises(MergeConflict, match="conflict markers in hello.txt"):
        await land(repo, branch="kwaak/a", base="main", mode="merge")


async def test_rebase_for_resolution_keeps_clean_commits_and_folds_on_landing(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    # three commits: a clean one, one that conflicts with main, one after it
    tip = agent_branch(repo, "kwaak/a", {"one.txt": "1\n", "hello.txt": "from the agent\n", "three.txt": "3\n"})
    (repo / "hello.txt").write_text("from the user\n")
    git(repo, "commit", "-q", "-am", "user edits hello")
    base = git(repo, "rev-parse", "main")
    git(repo, "branch", "integration")
    new_tip, conflicts = await rebase_for_resolution(repo, tip=tip, base=base, base_name="main")
    assert conflicts == ("hello.txt",)
    assert git(repo, "rev-parse", f"{new_tip}~2") == base
    assert git(repo, "log", "-1", "--format=%s", f"{new_tip}~1") == "edit one.txt", "the clean commit is replayed"
    message = git(repo, "log", "-1", "--format=%B", new_tip)
    assert (
        message.startswith("edit hello.txt")
        and CONFLICT_TRAILER in message
        and "conflicts to resolve in hello.txt" in message
    )
    assert "<<<<<<<" in git(repo, "show", f"{new_tip}:hello.txt")
    assert git(repo, "show", f"{new_tip}:three.txt") == "3", "commits after the conflict are folded into it"
    with pytest.raises(MergeConflict, match="conflict markers"):
        await _land_tip(repo, new_tip)
    # The agent resolves on top; each mode then lands, rebase without any commit holding markers.
    wt = repo.parent / "wt-resolve"
    git(repo, "worktree", "add", "-q", "-B", "kwaak/a", str(wt), new_tip)
    (wt / "hello.txt").write_text("from both\n")
    git(wt, "commit", "-q", "-am", "resolve")
    git(repo, "worktree", "remove", "--force", str(wt))
    resolved = git(repo, "rev-parse", "kwaak/a")
    merged = await land(repo, branch="kwaak/a", base="integration", mode="merge")
    history = git(repo, "rev-list", f"{base}..integration").split()
    assert merged.commits == 3 and len(history) == 3, "merge commit + the folded commit + the clean one"
    assert all("<<<<<<<" not in git(repo, "show", f"{c}:hello.txt") for c in history)
    assert git(repo, "rev-parse", "kwaak/a") == resolved
    result = await land(repo, branch="kwaak/a", base="main", mode="rebase")
    assert result.commits == 3
    assert git(repo, "log", "--format=%s", f"{base}..main").splitlines() == ["edit hello.txt", "edit one.txt"]
    assert all("<<<<<<<" not in git(repo, "show", f"{c}:hello.txt") for c in git(repo, "rev-list", "main").split())
    assert (repo / "hello.txt").read_text() == "from both\n" and (repo / "three.txt").read_text() == "3\n"


async def _land_tip(repo: Path, tip: str) -> None:
    git(repo, "branch", "-f", "kwaak/a", tip)
    await land(repo, branch="kwaak/a", base="main", mode="rebase")


# -- attacks ---------------------------------------------------------------------------------------


def _plant_hooks(repo: Path, marker: Path) -> None:
    hooks = repo / ".git" / "hooks"
    for name in ("reference-transaction", "post-checkout", "post-merge", "post-commit", "pre-commit"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        hook.chmod(0o755)
    monitor = repo.parent / "fsmonitor.sh"
    monitor.write_text(f"#!/bin/sh\necho fsmonitor >> {marker}\n")
    monitor.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(monitor))


@pytest.mark.parametrize("mode", ["merge", "squash", "rebase"])
async def test_attack_planted_hooks_and_fsmonitor_never_run_while_landing(tmp_git_repo: Path, mode: str) -> None:
    repo = tmp_git_repo
    marker = repo.parent / "pwned"
    agent_branch(repo, "kwaak/a", {"hello.txt": "x\n"})
    _plant_hooks(repo, marker)
    result = await land(repo, branch="kwaak/a", base="main", mode=mode)  # type: ignore[arg-type]
    assert result.checkout_updated
    assert not marker.exists(), marker.read_text()


async def test_attack_agent_attributes_are_not_checked_out_into_the_users_checkout(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    marker = repo.parent / "pwned"
    # A filter driver the user has configured; the agent's .gitattributes tries to apply it everywhere.
    git(repo, "config", "filter.evil.smudge", f"sh -c 'echo smudge >> {marker}; cat'")
    git(repo, "config", "filter.evil.clean", "cat")
    git(repo, "config", "merge.evil.driver", f"sh -c 'echo merge >> {marker}; exit 1'")
    agent_branch(repo, "kwaak/a", {".gitattributes": "* filter=evil merge=evil\n", "hello.txt": "x\n"})
    before = checkout_snapshot(repo)
    with pytest.raises(GitError, match="does not check agent-chosen attributes out"):
        await land(repo, branch="kwaak/a", base="main", mode="merge")
    assert checkout_snapshot(repo) == before
    # Off the base, only the ref moves: still nothing runs.
    git(repo, "switch", "-q", "-c", "elsewhere")
    result = await land(repo, branch="kwaak/a", base="main", mode="squash")
    assert not result.checkout_updated
    assert not marker.exists()
    assert (repo / "hello.txt").read_text() == "Hello, world!\n"
