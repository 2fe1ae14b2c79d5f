"""``kwaak sessions land|review|undo`` through the real CLI on a real repository."""

from __future__ import annotations

from pathlib import Path

from kwaak.backend.store_index import list_sessions
from tests.conftest import git
from tests.scripted import run_kwaak, tool, write_scripted_config


def _agent(repo: Path, name: str, file: str, content: str) -> str:
    config = write_scripted_config(repo, [tool("write_file", file_name=file, content=content), tool("stop")], name=name)
    task = f"write {file} as {name}"
    done = run_kwaak(repo, config, "-s", "run-agent", "-i", task)
    assert done.returncode == 0, done.stderr
    entries = list_sessions(repo.parent / "cache", repo)
    return next(e.id for e in entries if e.meta is not None and e.meta.goal == task)


def test_sessions_land_squash_and_merge_from_the_cli(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    first = _agent(repo, "a", "a.txt", "from a\n")
    second = _agent(repo, "b", "b.txt", "from b\n")
    config = repo.parent / "a.toml"

    listing = run_kwaak(repo, config, "sessions")
    assert listing.stdout.count("unlanded +1/-0") == 2, listing.stdout

    review = run_kwaak(repo, config, "sessions", "review", first[:8])
    assert review.returncode == 0, review.stderr
    assert "+1 -0  a.txt" in review.stdout and "+from a" in review.stdout

    missing = run_kwaak(repo, config, "sessions", "land", first[:8])
    assert missing.returncode == 2 and "--squash, --merge or --rebase" in missing.stderr

    landed = run_kwaak(repo, config, "sessions", "land", first[:8], "--squash")
    assert landed.returncode == 0, landed.stdout + landed.stderr
    assert "Landed" in landed.stdout and "your checkout was updated" in landed.stdout
    merged = run_kwaak(repo, config, "sessions", "land", second[:8], "--merge", "--base", "main")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert git(repo, "show", "main:a.txt") == "from a" and git(repo, "show", "main:b.txt") == "from b"
    assert (repo / "b.txt").read_text() == "from b\n"

    listing = run_kwaak(repo, config, "sessions")
    assert listing.stdout.count("landed +") == 2 and "unlanded" not in listing.stdout

    # Landed sessions (the squashed one is not an ancestor of main) are pruned with --merged.
    pruned = run_kwaak(repo, config, "sessions", "prune", "--merged")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert git(repo, "branch", "--list", "kwaak/*") == ""
    assert list_sessions(repo.parent / "cache", repo) == []


def test_sessions_undo_and_land_errors_are_one_line(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    session = _agent(repo, "a", "a.txt", "from a\n")
    config = repo.parent / "a.toml"
    meta = next(e.meta for e in list_sessions(repo.parent / "cache", repo) if e.id == session)
    assert meta is not None and meta.branch and meta.start_ref
    (repo / "hello.txt").write_text("dirty\n")
    refused = run_kwaak(repo, config, "sessions", "land", session[:8], "--rebase")
    assert refused.returncode == 1 and "uncommitted changes" in refused.stdout and "Traceback" not in refused.stderr
    assert (repo / "hello.txt").read_text() == "dirty\n"

    undone = run_kwaak(repo, config, "sessions", "undo", session[:8])
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert git(repo, "rev-parse", meta.branch) == meta.start_ref


def test_sessions_resolve_hands_the_conflict_to_the_agent_then_it_lands(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    first = _agent(repo, "a", "hello.txt", "from a\n")
    second = _agent(repo, "b", "hello.txt", "from b\n")
    config = repo.parent / "a.toml"
    assert run_kwaak(repo, config, "sessions", "land", first[:8], "--squash").returncode == 0
    conflict = run_kwaak(repo, config, "sessions", "land", second[:8], "--merge")
    assert conflict.returncode == 1 and "conflicts with 'main'" in conflict.stdout and "resolve" in conflict.stdout

    resolver = write_scripted_config(
        repo, [tool("write_file", file_name="hello.txt", content="from a and b\n"), tool("stop")], name="resolver"
    )
    resolved = run_kwaak(repo, resolver, "sessions", "resolve", second[:8])
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "Handed the conflict in hello.txt to the agent" in resolved.stdout
    landed = run_kwaak(repo, config, "sessions", "land", second[:8], "--merge")
    assert landed.returncode == 0, landed.stdout + landed.stderr
    assert (repo / "hello.txt").read_text() == "from a and b\n"
    assert git(repo, "status", "--porcelain") == ""
