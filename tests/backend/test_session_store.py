"""The session store: one owner per session (an OS lock), per-repository stores, recovery from damage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.backend.persistence import SessionMeta, SessionStore
from kwaak.backend.store_index import list_sessions, repo_identity, sessions_dir
from kwaak.backend.store_lock import owner_pid
from kwaak.errors import SessionInUse
from kwaak.llm.testing import ScriptedModel, call
from kwaak.messages import SystemMessage, UserMessage
from tests.conftest import git


def _models(*steps: object) -> Models:
    return Models(indexing=ScriptedModel(prompt_reply="Add notes"), query=ScriptedModel(list(steps or [call("stop")])))


def _hold_lock(session_dir: Path) -> subprocess.Popen[str]:
    """Another process that owns the session until its stdin closes."""
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from kwaak.backend.store_lock import SessionLock
        SessionLock.claim(Path({str(session_dir)!r}), session_id="x")
        print("locked", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_cannot_write_and_sees_the_owner_pid(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, "s1")
    owner = _hold_lock(store.dir)
    try:
        assert owner_pid(store.dir) == owner.pid
        with pytest.raises(SessionInUse, match=f"in use by pid {owner.pid}"):
            store.sync_history([UserMessage(content="hi")])
        with pytest.raises(SessionInUse):
            store.save_meta(SessionMeta(id="s1"))
        assert not (store.dir / "history.jsonl").exists() and not (store.dir / "meta.json").exists()
    finally:
        owner.stdin.close()  # type: ignore[union-attr]
        owner.wait()
    # The kernel released the lock with the process: the session is free (and ours after a write).
    assert owner_pid(store.dir) is None
    store.sync_history([UserMessage(content="hi")])
    assert store.owned and owner_pid(store.dir) == os.getpid()


def test_kill_9_releases_the_lock_and_the_session_lists_as_interrupted(tmp_git_repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store = SessionStore(sessions_dir(cache, tmp_git_repo), "s1")
    store.save_meta(SessionMeta(id="s1", status="running", origin="tui", tab=True))
    store.release()
    owner = _hold_lock(store.dir)
    [entry] = list_sessions(cache, tmp_git_repo)
    assert (entry.status, entry.in_use_elsewhere, entry.owner) == ("running", True, owner.pid)
    owner.kill()  # SIGKILL
    owner.wait()
    [entry] = list_sessions(cache, tmp_git_repo)
    assert (entry.status, entry.owner) == ("interrupted", None)


async def test_a_second_backend_leaves_the_owners_sessions_and_worktrees_alone(make_config, tmp_git_repo: Path) -> None:
    config = make_config()
    first = Backend(config, tmp_git_repo, models=_models(), buffer_events=False, origin="tui")
    assert (await first.run_op("s1", p.Chat(message="write notes"))).ok
    worktree = first._sessions["s1"].workspace.path
    lines_before = (first._sessions["s1"].store.dir / "history.jsonl").read_text()

    second = Backend(config, tmp_git_repo, models=_models(), buffer_events=False, origin="tui")
    assert await second.start() == []  # s1 is a tab, but its owner is alive
    [entry] = second.stored_sessions()
    assert entry.in_use_elsewhere and entry.owner == os.getpid()
    with pytest.raises(SessionInUse):
        second.open_session("s1")
    assert not (await second.run_op("s1", p.OpenSession())).ok
    assert not (await second.run_op("s1", p.DeleteSession())).ok
    assert (await second.run_op("s2", p.Chat(message="another task"))).ok
    await second.aclose()
    assert worktree.exists()  # quitting the second never removes the first one's worktree
    assert (first._sessions["s1"].store.dir / "history.jsonl").read_text() == lines_before
    await first.aclose()

    third = Backend(config, tmp_git_repo, models=_models(), buffer_events=False, origin="tui")
    assert sorted(s.session_id for s in await third.start()) == ["s1", "s2"]  # both owners quit: both reopen
    await third.aclose()


async def test_two_clones_with_one_project_name_do_not_see_each_others_sessions(
    make_config, tmp_git_repo: Path, tmp_path: Path, bare_remote: Path
) -> None:
    clone = tmp_path / "elsewhere" / tmp_git_repo.name
    subprocess.run(["git", "clone", "-q", str(bare_remote), str(clone)], check=True)
    git(clone, "config", "user.email", "t@example.com")
    git(clone, "config", "user.name", "T")
    config = make_config()  # the same project_name and cache_dir for both clones
    first = Backend(config, tmp_git_repo, models=_models(), buffer_events=False, origin="tui")
    assert (await first.run_op("s1", p.Chat(message="write notes"))).ok
    await first.aclose()
    assert repo_identity(clone) != repo_identity(tmp_git_repo)
    assert list_sessions(config.cache_dir, clone) == []
    other = Backend(config, clone, models=_models(), buffer_events=False, origin="tui")
    assert await other.start() == []
    await other.aclose()
    assert [e.id for e in list_sessions(config.cache_dir, tmp_git_repo)] == ["s1"]
    # A linked worktree of the first repository is the same repository.
    git(tmp_git_repo, "worktree", "add", "-q", str(tmp_path / "linked"), "-b", "linked")
    assert repo_identity(tmp_path / "linked") == repo_identity(tmp_git_repo)


def test_legacy_per_project_store_moves_into_the_repository_that_has_its_branch(
    tmp_git_repo: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    git(tmp_git_repo, "branch", "kwaak/old-task-aaaaaaaa")
    legacy = cache / "sessions"
    for sid, branch in (("aaaaaaaa", "kwaak/old-task-aaaaaaaa"), ("bbbbbbbb", "kwaak/other-clone-bbbbbbbb")):
        (legacy / sid).mkdir(parents=True)
        (legacy / sid / "meta.json").write_text(json.dumps({"id": sid, "branch": branch, "status": "done"}))
    assert [e.id for e in list_sessions(cache, tmp_git_repo)] == ["aaaaaaaa"]
    assert (legacy / "bbbbbbbb" / "meta.json").exists()  # left for the clone that has its branch


def test_torn_history_is_truncated_before_the_next_append_and_reported(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, "abc")
    history: list = [SystemMessage(content="sys"), UserMessage(content="one")]
    store.sync_history(history)
    store.release()
    path = store.dir / "history.jsonl"
    with path.open("a") as fh:
        fh.write('{"m": {"kind": "user", "con')  # torn by a crash
    again = SessionStore(tmp_path, "abc")
    again.claim()
    loaded = again.load_history()
    assert loaded == history
    assert any(str(path) in problem and "torn" in problem for problem in again.problems)
    loaded.append(UserMessage(content="two"))
    again.sync_history(loaded)
    again.release()
    assert SessionStore(tmp_path, "abc").load_history() == loaded  # nothing after the tear is lost


def test_records_glued_behind_a_torn_line_and_after_garbage_are_kept(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, "abc")
    store.dir.mkdir()
    one = json.dumps({"m": {"kind": "user", "content": "one"}})
    two = json.dumps({"m": {"kind": "user", "content": "two"}})
    three = json.dumps({"m": {"kind": "user", "content": "three"}})
    path = store.dir / "history.jsonl"
    path.write_text(f"garbage\n{one}\n" + '{"m": {"kind": "us' + f"{two}\n{three}\n")
    reader = SessionStore(tmp_path, "abc")
    assert [m.content for m in reader.load_history()] == ["one", "two", "three"]  # read-only: file untouched
    assert reader.problems and "damaged line(s) 1, 3" in reader.problems[0]
    store.claim()
    assert [m.content for m in store.load_history()] == ["one", "two", "three"]
    assert "set aside" in store.problems[0] and str(path) in store.problems[0]
    assert [json.loads(line) for line in path.read_text().splitlines()] == [json.loads(x) for x in (one, two, three)]
    assert list(store.dir.glob("history.jsonl.corrupt-*"))  # the damaged original is kept


@pytest.mark.parametrize("content", ["", "garbage", "[]", '{"title": "no id"}'])
async def test_corrupt_meta_is_rebuilt_from_the_logs(make_config, tmp_git_repo: Path, content: str) -> None:
    config = make_config()
    first = Backend(config, tmp_git_repo, models=_models(), buffer_events=False, origin="tui")
    assert (await first.run_op("s1", p.Chat(message="write notes"))).ok
    title, branch = first._sessions["s1"].title, first._sessions["s1"].workspace.branch
    history = list(first._sessions["s1"].state.history)
    await first.aclose()
    meta_path = sessions_dir(config.cache_dir, tmp_git_repo) / "s1" / "meta.json"
    meta_path.write_text(content)

    [entry] = list_sessions(config.cache_dir, tmp_git_repo)
    assert entry.meta is not None and (entry.meta.title, entry.meta.branch) == (title, branch)
    assert any(str(meta_path) in problem and "rebuilt" in problem for problem in entry.store.problems)
    again = Backend(config, tmp_git_repo, models=_models(), buffer_events=False)
    session = again.open_session("s1")
    assert session.state.history == history
    await again.aclose()


async def test_corrupt_meta_without_logs_is_listed_as_damaged_with_its_path(make_config, tmp_git_repo: Path) -> None:
    config = make_config()
    root = sessions_dir(config.cache_dir, tmp_git_repo)
    (root / "s1").mkdir(parents=True)
    (root / "s1" / "meta.json").write_text("[]")
    [entry] = list_sessions(config.cache_dir, tmp_git_repo)
    assert entry.status == "damaged" and entry.problem is not None
    assert str(root / "s1" / "meta.json") in entry.problem and "kwaak sessions delete" in entry.problem
    backend = Backend(config, tmp_git_repo, models=_models(), buffer_events=False, origin="tui")
    assert await backend.start() == []  # a damaged session never breaks the start
    await backend.aclose()


def test_restore_does_not_rewrite_updated_at(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, "s1")
    meta = SessionMeta(id="s1", status="done")
    store.save_meta(meta)
    first = json.loads((store.dir / "meta.json").read_text())["updated_at"]
    store.release()
    again = SessionStore(tmp_path, "s1")
    again.save_meta(again.load_meta())  # nothing changed
    assert json.loads((store.dir / "meta.json").read_text())["updated_at"] == first


async def test_a_failed_start_is_stored_as_failed_not_starting(
    make_backend, tmp_git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-daemon.sock'}")
    backend, _ = make_backend(ScriptedModel([call("stop")]), tool_executor="docker", executor_fallback=False)
    done = await backend.run_op("s", p.Chat(message="hi"))
    assert not done.ok and done.error_kind == "executor_unavailable"
    [entry] = backend.stored_sessions()
    assert entry.meta is not None and entry.meta.status == "failed" and entry.status == "failed"


@pytest.mark.parametrize("bad", ["..", ".", "../escape", "a/b", ""])
async def test_a_session_id_never_names_a_path_outside_the_store(make_config, tmp_git_repo: Path, bad: str) -> None:
    backend = Backend(make_config(), tmp_git_repo, models=_models(), buffer_events=False, origin="tui")
    root = sessions_dir(backend.config.cache_dir, tmp_git_repo)
    victim = root.parent / "escape"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    for op in (p.OpenSession(), p.Chat(message="hi")):
        assert not (await backend.run_op(bad, op)).ok
    await backend.run_op(bad, p.DeleteSession())  # deleting an unknown id is a no-op at most
    assert (victim / "keep.txt").read_text() == "mine" and root.is_dir()
    await backend.aclose()


async def test_a_chat_for_a_stored_session_continues_it_instead_of_starting_over(
    make_config, tmp_git_repo: Path
) -> None:
    config = make_config()
    first = Backend(config, tmp_git_repo, models=_models(), buffer_events=False)
    assert (await first.run_op("s1", p.Chat(message="write notes"))).ok
    history = list(first._sessions["s1"].state.history)
    await first.aclose()
    again = Backend(config, tmp_git_repo, models=_models(), buffer_events=False)
    assert (await again.run_op("s1", p.Chat(message="and more"))).ok  # no OpenSession first
    resumed = again._sessions["s1"].state.history
    assert resumed[: len(history)] == history
    assert sum(isinstance(m, SystemMessage) for m in resumed) == 1  # not primed a second time
    await again.aclose()
    assert SessionStore(sessions_dir(config.cache_dir, tmp_git_repo), "s1").load_history() == resumed


async def test_sessions_follow_a_repository_that_was_moved(make_config, tmp_git_repo: Path, tmp_path: Path) -> None:
    config = make_config()
    # The agent commits something: a branch without commits is dropped when the session ends.
    models = _models(call("write_file", file_name="notes.txt", content="n\n"), call("stop"))
    first = Backend(config, tmp_git_repo, models=models, buffer_events=False, origin="tui")
    assert (await first.run_op("s1", p.Chat(message="write notes"))).ok
    await first.aclose()
    moved = tmp_path / "moved-repo"
    tmp_git_repo.rename(moved)
    [entry] = list_sessions(config.cache_dir, moved)
    assert entry.id == "s1" and entry.meta is not None and entry.meta.branch
