"""Review, land, conflict hand-off and undo through the real Backend with scripted agents."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.llm.testing import ScriptedModel, call
from kwaak.messages import UserMessage
from tests.conftest import git
from tests.executors.conftest import bwrap_ok  # noqa: F401 - fixture
from tests.git.conftest import checkout_snapshot


def edit(file: str, content: str) -> list:
    return [call("write_file", file_name=file, content=content), call("stop")]


async def test_two_agents_land_squash_and_merge_and_base_has_both(make_backend, tmp_git_repo: Path) -> None:
    model = ScriptedModel(edit("hello.txt", "Hello, agents!\n") + edit("docs/b.md", "# B\n"))
    backend, rec = make_backend(model, indexing=ScriptedModel(prompt_reply="feat: greet the agents"))
    assert (await backend.run_op("s1", p.Chat(message="greet agents"))).ok
    assert (await backend.run_op("s2", p.Chat(message="write docs"))).ok
    old_main = git(tmp_git_repo, "rev-parse", "main")

    assert (await backend.run_op("s1", p.Review())).ok
    shown = rec.of(p.ReviewShown, "s1")[-1]
    assert [(f.path, f.added, f.removed) for f in shown.files] == [("hello.txt", 1, 1)]
    assert shown.ahead == 1 and shown.behind == 0 and len(shown.commits) == 1
    assert "+Hello, agents!" in shown.diff

    assert (await backend.run_op("s1", p.Land(mode="squash"))).ok
    landed = rec.of(p.Landed, "s1")[-1]
    assert landed.old_base == old_main and landed.checkout_updated
    assert git(tmp_git_repo, "log", "-1", "--format=%s", "main") == "feat: greet the agents"
    assert backend._sessions["s1"].landed == f"main@{landed.new_base}"

    assert (await backend.run_op("s2", p.Land(mode="merge"))).ok
    assert git(tmp_git_repo, "show", "main:hello.txt") == "Hello, agents!"
    assert git(tmp_git_repo, "show", "main:docs/b.md") == "# B"
    assert (tmp_git_repo / "docs" / "b.md").read_text() == "# B\n"
    assert git(tmp_git_repo, "status", "--porcelain") == ""
    assert backend._sessions["s2"].store is not None
    assert backend._sessions["s2"].store.load_meta().landed is not None


async def test_conflict_is_handed_to_the_agent_which_resolves_it_and_lands(make_backend, tmp_git_repo: Path) -> None:
    resolved = "Hello from a and b!\n"
    model = ScriptedModel(
        edit("hello.txt", "Hello from a!\n")
        + edit("hello.txt", "Hello from b!\n")
        + [call("read_file_with_line_numbers", file_name="hello.txt"), *edit("hello.txt", resolved)]
    )
    backend, rec = make_backend(model, git={"generate_commit_message": False})
    assert (await backend.run_op("a", p.Chat(message="greet from a"))).ok
    assert (await backend.run_op("b", p.Chat(message="greet from b"))).ok
    assert (await backend.run_op("a", p.Land(mode="squash"))).ok
    assert any("Overlap with another agent" in m.text for m in rec.of(p.SystemMessage, "a"))

    failed = await backend.run_op("b", p.Land(mode="merge"))
    assert not failed.ok and failed.error_kind == "merge_conflict" and "hello.txt" in (failed.error or "")
    assert "/resolve" in (failed.hint or "")

    assert (await backend.run_op("b", p.ResolveConflict())).ok
    session = backend._sessions["b"]
    assert session.workspace is not None
    branch = session.workspace.branch
    # The agent saw the markers kwaak merged in, resolved them, and its resolution was committed.
    read = [m for m in rec.of(p.ToolCallFinished, "b") if m.name == "read_file_with_line_numbers"][-1]
    assert "<<<<<<<" in read.output and ">>>>>>>" in read.output
    assert git(tmp_git_repo, "show", f"{branch}:hello.txt") + "\n" == resolved
    # kwaak rebased the branch onto main: the hand-off commit (markers) and the agent's resolution on top.
    assert git(tmp_git_repo, "merge-base", "--is-ancestor", "main", branch) == ""
    assert "Kwaak-Conflict: unresolved" in git(tmp_git_repo, "log", "-1", "--format=%B", f"{branch}~1")
    assert git(tmp_git_repo, "rev-list", "--merges", f"main..{branch}") == ""

    assert (await backend.run_op("b", p.Land(mode="rebase"))).ok
    assert git(tmp_git_repo, "show", "main:hello.txt") + "\n" == resolved
    assert (tmp_git_repo / "hello.txt").read_text() == resolved
    # The hand-off commit and the resolution were folded into one: no commit with markers reached main.
    landed = git(tmp_git_repo, "log", "--format=%H", "main", "-2").split()
    assert git(tmp_git_repo, "log", "-1", "--format=%B", "main").endswith(
        "(conflicts with the base resolved by the agent)"
    )
    assert all("<<<<<<<" not in git(tmp_git_repo, "show", f"{c}:hello.txt") for c in landed)


async def test_undo_restores_the_commit_before_the_turn(make_backend, tmp_git_repo: Path) -> None:
    model = ScriptedModel(edit("one.txt", "1\n") + edit("two.txt", "2\n") + edit("three.txt", "3\n"))
    backend, rec = make_backend(model)
    assert (await backend.run_op("s", p.Chat(message="make one"))).ok
    session = backend._sessions["s"]
    assert session.workspace is not None
    ws = session.workspace
    after_one = git(tmp_git_repo, "rev-parse", ws.branch)
    assert (await backend.run_op("s", p.Chat(message="make two"))).ok
    assert git(tmp_git_repo, "rev-parse", ws.branch) != after_one

    assert (await backend.run_op("s", p.Undo())).ok
    assert git(tmp_git_repo, "rev-parse", ws.branch) == after_one
    assert (ws.path / "one.txt").exists() and not (ws.path / "two.txt").exists()
    assert isinstance(session.state.history[-1], UserMessage)
    assert "undid your last turn" in session.state.history[-1].content
    assert any("Undid last turn" in m.text for m in rec.of(p.SystemMessage, "s"))

    # The agent keeps working on the restored branch; then undo back to the start commit.
    assert (await backend.run_op("s", p.Chat(message="make three"))).ok
    assert (ws.path / "three.txt").exists()
    assert (await backend.run_op("s", p.Undo(commit=ws.start_ref))).ok
    assert git(tmp_git_repo, "rev-parse", ws.branch) == ws.start_ref
    bad = await backend.run_op("s", p.Undo(commit="HEAD~5"))
    assert not bad.ok


async def test_landing_never_modifies_a_dirty_checkout(make_backend, tmp_git_repo: Path) -> None:
    backend, _ = make_backend(ScriptedModel(edit("src/calc.py", "x = 1\n")))
    assert (await backend.run_op("s", p.Chat(message="change calc"))).ok
    (tmp_git_repo / "hello.txt").write_text("my uncommitted work\n")
    before = checkout_snapshot(tmp_git_repo)
    for mode in ("merge", "squash", "rebase"):
        done = await backend.run_op("s", p.Land(mode=mode))  # type: ignore[arg-type]
        assert not done.ok and "uncommitted changes" in (done.error or "")
    assert checkout_snapshot(tmp_git_repo) == before
    # Landing on another base moves only that ref.
    git(tmp_git_repo, "branch", "integration")
    assert (await backend.run_op("s", p.Land(mode="rebase", base="integration"))).ok
    assert checkout_snapshot(tmp_git_repo) == before
    assert git(tmp_git_repo, "show", "integration:src/calc.py") == "x = 1"


@pytest.mark.usefixtures("bwrap_ok")
async def test_undo_and_conflict_hand_off_under_the_sandbox(make_backend, tmp_git_repo: Path) -> None:
    """The agent's worktree is re-created after its branch moved; the sandbox then works on the new files."""
    model = ScriptedModel(
        edit("one.txt", "1\n")
        + edit("two.txt", "2\n")
        + [call("shell_command", cmd="ls"), call("stop")]
        + edit("hello.txt", "from the agent\n")
        + [call("shell_command", cmd="grep -c '<<<<<<<' hello.txt"), *edit("hello.txt", "both\n")]
    )
    backend, rec = make_backend(model, tool_executor="sandbox", git={"generate_commit_message": False})
    assert (await backend.run_op("s", p.Chat(message="make one"))).ok
    assert (await backend.run_op("s", p.Chat(message="make two"))).ok
    assert (await backend.run_op("s", p.Undo())).ok
    assert (await backend.run_op("s", p.Chat(message="list files"))).ok
    listing = [m for m in rec.of(p.ToolCallFinished, "s") if m.name == "shell_command"][-1].output
    assert "one.txt" in listing and "two.txt" not in listing

    assert (await backend.run_op("s", p.Chat(message="edit hello"))).ok
    git(tmp_git_repo, "commit", "-q", "--allow-empty", "-m", "base moves")
    (tmp_git_repo / "hello.txt").write_text("from the user\n")
    git(tmp_git_repo, "commit", "-q", "-am", "user edits hello")
    assert not (await backend.run_op("s", p.Land(mode="merge"))).ok
    assert (await backend.run_op("s", p.ResolveConflict())).ok
    grep = [m for m in rec.of(p.ToolCallFinished, "s") if m.name == "shell_command"][-1].output
    assert grep.strip().startswith("1")
    assert (await backend.run_op("s", p.Land(mode="squash"))).ok
    assert (tmp_git_repo / "hello.txt").read_text() == "both\n"
