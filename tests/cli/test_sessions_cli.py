"""Sessions through the real CLI and real processes: ownership, crashes, damage, clones, prune, clear-cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kwaak.backend.store_index import list_sessions, sessions_dir
from tests.conftest import git
from tests.reliability.headless import kill_matching, sleep_marker
from tests.scripted import json_lines, run_kwaak, tool, write_scripted_config

EXTRA = "[git]\nauto_push_remote = false"


def _config(repo: Path, name: str, script: list[dict[str, object]]) -> Path:
    return write_scripted_config(repo, script, name=name, extra=EXTRA)


def _start_blocked_agent(repo: Path, marker: str) -> tuple[subprocess.Popen[str], str]:
    """A real ``run-agent`` that wrote a file and now sits in a long tool call; returns it and its session id."""
    cfg = _config(
        repo, "blocked", [tool("write_file", file_name="a.txt", content="a\n"), tool("shell_command", cmd=marker)]
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kwaak", "-c", str(cfg), "-s", "run-agent", "-i", "task A", "--output", "jsonl"],
        cwd=repo,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "tool_call_started" and event["name"] == "shell_command":
            return proc, str(event["session_id"])
        assert time.monotonic() < deadline, "the agent did not reach its long tool call"
    raise AssertionError("run-agent ended early")


def _history_records(repo: Path, session_id: str) -> list[dict[str, object]]:
    path = sessions_dir(repo.parent / "cache", repo) / session_id / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_processes_on_one_repository(tmp_git_repo: Path) -> None:
    repo, marker = tmp_git_repo, sleep_marker()
    owner, sid = _start_blocked_agent(repo, marker)
    try:
        cfg = _config(repo, "second", [tool("write_file", file_name="b.txt", content="b\n"), tool("stop")])
        listing = run_kwaak(repo, cfg, "sessions")
        assert f"(in use by pid {owner.pid})" in listing.stdout, listing.stdout
        for action in ("resume", "delete"):
            refused = run_kwaak(repo, cfg, "sessions", action, sid[:8])
            assert refused.returncode == 1 and f"in use by pid {owner.pid}" in refused.stderr, refused.stderr
            assert "Traceback" not in refused.stderr
        cleared = run_kwaak(repo, cfg, "clear-cache", "--yes")
        assert cleared.returncode == 1 and "refusing to clear the cache" in cleared.stderr, cleared.stderr
        assert f"in use by pid {owner.pid}" in cleared.stderr

        # A second agent process works next to it and quits; the first one's worktree stays.
        before = _history_records(repo, sid)
        second = run_kwaak(repo, cfg, "-s", "run-agent", "-i", "task B")
        assert second.returncode == 0, second.stderr
        worktrees = git(repo, "worktree", "list")
        assert sid.replace("-", "")[:8] in worktrees or sid in worktrees, worktrees
        assert _history_records(repo, sid) == before  # nothing of B's conversation in A's log
        [other] = [e for e in list_sessions(repo.parent / "cache", repo) if e.id != sid]
        other_users = [
            r["m"]["content"] for r in _history_records(repo, other.id) if r.get("m", {}).get("kind") == "user"
        ]
        assert "task B" in other_users and "task A" not in other_users
    finally:
        os.killpg(owner.pid, signal.SIGKILL)
        owner.wait()
        kill_matching(marker)

    # kill -9: the lock went with the process, so the session is interrupted, not "running" forever.
    listing = run_kwaak(repo, cfg, "sessions")
    line = next(line for line in listing.stdout.splitlines() if line.startswith(sid[:8]))
    assert "interrupted" in line and "in use" not in line and "run-agent" in line

    # A torn last line (a crash mid-write) is repaired on resume; no complete record is lost.
    history = sessions_dir(repo.parent / "cache", repo) / sid / "history.jsonl"
    complete = history.read_text().splitlines()
    with history.open("a") as fh:
        fh.write('{"m": {"kind": "assistant", "cont')
    resume_cfg = _config(repo, "resume", [tool("shell_command", cmd="cat a.txt"), tool("stop")])
    resumed = run_kwaak(repo, resume_cfg, "sessions", "resume", sid[:8], "-m", "carry on", "--output", "jsonl")
    assert resumed.returncode == 0, resumed.stderr
    warnings = [e["text"] for e in json_lines(resumed.stdout) if e["type"] == "system_message"]
    assert any(str(history) in w and "torn" in w for w in warnings), warnings
    after = history.read_text().splitlines()
    assert after[: len(complete)] == complete and len(after) > len(complete)
    assert all(json.loads(line) for line in after)
    assert any('"carry on"' in line for line in after[len(complete) :])


def test_damaged_meta_is_rebuilt_or_listed_with_its_path(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    cfg = _config(repo, "a", [tool("write_file", file_name="a.txt", content="a\n"), tool("stop")])
    assert run_kwaak(repo, cfg, "-s", "run-agent", "-i", "task A").returncode == 0
    [entry] = list_sessions(repo.parent / "cache", repo)
    meta = entry.store.dir / "meta.json"
    meta.write_text("garbage")
    listing = run_kwaak(repo, cfg, "sessions")
    assert listing.returncode == 0, listing.stderr
    assert f"warning: {meta} was damaged; rebuilt it from the session's logs" in listing.stderr
    assert entry.id[:8] in listing.stdout and "internal error" not in listing.stderr

    hopeless = meta.parent.parent / "0badc0de"
    hopeless.mkdir()
    (hopeless / "meta.json").write_text("[]")
    listing = run_kwaak(repo, cfg, "sessions")
    line = next(line for line in listing.stdout.splitlines() if line.startswith("0badc0de"))
    assert "damaged" in line and str(hopeless / "meta.json") in line and "kwaak sessions delete" in line
    run = run_kwaak(repo, cfg, "-s", "run-agent", "-i", "another task")
    assert run.returncode == 0, run.stderr  # a damaged session never breaks a run
    deleted = run_kwaak(repo, cfg, "sessions", "delete", "0badc0de")
    assert deleted.returncode == 0 and "Deleted session 0badc0de" in deleted.stdout, deleted.stderr
    assert not hopeless.exists()


def test_a_second_clone_with_the_same_project_name_sees_none_of_it(tmp_git_repo: Path, bare_remote: Path) -> None:
    cfg = _config(tmp_git_repo, "a", [tool("stop")])
    assert run_kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", "task A").returncode == 0
    clone = tmp_git_repo.parent / "clone2" / tmp_git_repo.name
    subprocess.run(["git", "clone", "-q", str(bare_remote), str(clone)], check=True)
    assert run_kwaak(clone, cfg, "sessions").stdout.strip() == "No saved sessions."
    assert "task A" not in run_kwaak(tmp_git_repo, cfg, "sessions").stdout  # titles are listed, not goals
    assert len(list_sessions(tmp_git_repo.parent / "cache", tmp_git_repo)) == 1


def test_prune_and_clear_cache(tmp_git_repo: Path) -> None:
    repo = tmp_git_repo
    cfg = _config(repo, "a", [tool("write_file", file_name="a.txt", content="a\n"), tool("stop")])
    assert run_kwaak(repo, cfg, "-s", "run-agent", "-i", "task A").returncode == 0
    [entry] = list_sessions(repo.parent / "cache", repo)
    assert entry.meta is not None and entry.meta.branch
    branch = entry.meta.branch
    assert run_kwaak(repo, cfg, "sessions", "prune", "--merged").stdout.strip() == "Nothing to prune."
    assert run_kwaak(repo, cfg, "sessions", "prune", "--older-than", "1d").stdout.strip() == "Nothing to prune."
    bad = run_kwaak(repo, cfg, "sessions", "prune", "--older-than", "soon")
    assert bad.returncode == 2 and "is not a duration" in bad.stderr
    dry = run_kwaak(repo, cfg, "sessions", "prune", "--dry-run")
    assert dry.stdout.startswith(f"Would remove session {entry.id[:8]} [done]")
    assert len(list_sessions(repo.parent / "cache", repo)) == 1
    pruned = run_kwaak(repo, cfg, "sessions", "prune")
    assert pruned.returncode == 0 and f"Removed session {entry.id[:8]}" in pruned.stdout, pruned.stderr
    assert list_sessions(repo.parent / "cache", repo) == []
    assert git(repo, "branch", "--list", branch) == ""

    # --merged: a session whose branch was merged goes, with its branch; an unmerged one stays.
    assert run_kwaak(repo, cfg, "-s", "run-agent", "-i", "task B").returncode == 0
    other = _config(repo, "c", [tool("write_file", file_name="c.txt", content="c\n"), tool("stop")])
    assert run_kwaak(repo, other, "-s", "run-agent", "-i", "task C").returncode == 0
    by_goal = {e.meta.goal: e for e in list_sessions(repo.parent / "cache", repo) if e.meta}
    merged_branch = by_goal["task B"].meta.branch  # type: ignore[union-attr]
    git(repo, "merge", "-q", "--no-edit", merged_branch)
    pruned = run_kwaak(repo, cfg, "sessions", "prune", "--merged")
    assert f"Removed session {by_goal['task B'].id[:8]}" in pruned.stdout and "task C" not in pruned.stdout
    assert [e.id for e in list_sessions(repo.parent / "cache", repo)] == [by_goal["task C"].id]
    assert git(repo, "branch", "--list", merged_branch) == ""
    cleared = run_kwaak(repo, cfg, "clear-cache", "--yes")
    assert cleared.returncode == 0, cleared.stderr
    assert "Cache cleared: deleted 1 saved session(s), 0 worktree(s) and the code index" in cleared.stdout
    assert git(repo, "branch", "--list", by_goal["task C"].meta.branch)  # type: ignore[union-attr]
    assert not (repo.parent / "cache").exists()


def test_two_concurrent_resumes_of_one_session_never_interleave(tmp_git_repo: Path) -> None:
    repo, marker = tmp_git_repo, sleep_marker()
    cfg = _config(repo, "a", [tool("write_file", file_name="a.txt", content="a\n"), tool("stop")])
    assert run_kwaak(repo, cfg, "-s", "run-agent", "-i", "task A").returncode == 0
    [entry] = list_sessions(repo.parent / "cache", repo)
    blocked = _config(repo, "blocked", [tool("shell_command", cmd=marker), tool("stop")])
    first = subprocess.Popen(
        [sys.executable, "-m", "kwaak", "-c", str(blocked), "sessions", "resume", entry.id[:8], "-m", "first"]
        + ["--output", "jsonl"],
        cwd=repo,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert first.stdout is not None
        for line in first.stdout:
            event = json.loads(line)
            if event["type"] == "tool_call_started":
                break
        second = run_kwaak(repo, cfg, "sessions", "resume", entry.id[:8], "-m", "second")
        assert second.returncode == 1 and f"in use by pid {first.pid}" in second.stderr, second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        kill_matching(marker)
    users = [r["m"]["content"] for r in _history_records(repo, entry.id) if r.get("m", {}).get("kind") == "user"]
    assert "first" in users and "second" not in users
