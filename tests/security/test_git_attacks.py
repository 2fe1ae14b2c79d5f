"""A1/A2: a hostile agent attacks kwaak's host-side git through the metadata it can write.

One scripted session per executor (the real ``kwaak run-agent``) tries, in order:

* A1.2 a nested repository (``git init nested``) with ``core.fsmonitor`` and hooks, staged as a
  gitlink by the agent itself — host status/add must not walk into it or commit the gitlink;
* A1.3 a ``config.worktree`` in its git dir (the user's repository sets
  ``extensions.worktreeConfig``) with ``core.fsmonitor`` and a redirected ``remote.origin.url``;
* A1.4 a planted ``MERGE_HEAD`` that would turn kwaak's commit into a merge of another branch;
* A1.1 a fake git dir ``evil.git`` (fsmonitor, hooks everywhere, its own ``origin`` pointing at the
  attacker's server) and the worktree's ``.git`` pointer rewritten to it, by shell and by
  ``write_file``;
* then a normal edit, which kwaak commits and auto-pushes with the GitHub token.

Every payload touches a marker file on the host *unless* it runs as an agent command (those carry
``KWAAK_OWNER``; under ``local`` the agent may run anything itself — the attack is on kwaak's git).

A2: the push must reach the user's configured remote (a token-checking smart-HTTP server) and
nothing may reach the attacker's server; the token appears in no event, log or file.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from kwaak.git.commit import commit_staged, has_changes, stage_all
from kwaak.git.diffs import agent_diff
from kwaak.git.trusted import agent_git
from kwaak.git.workspace import create_workspace
from kwaak.index.parts import changed_since
from tests.conftest import git
from tests.git.http_git import serve_git
from tests.security.agent_cli import EXECUTORS, agent_branch, call, require_executor, run_agent, shell

HOOKS = (
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-index-change",
    "reference-transaction",
    "pre-push",
    "post-checkout",
    "pre-auto-gc",
)


def _payload(marker: Path, tag: str) -> str:
    return f'test -n "$KWAAK_OWNER" || touch {marker}.{tag}'


def _script(marker: Path, evil_url: str, other_sha: str) -> list[dict[str, object]]:
    hooks = " ".join(HOOKS)
    make_hooks = (
        f"mkdir -p evilhooks && for h in {hooks}; do "
        f"printf '#!/bin/sh\\n{_payload(marker, 'hook')}-$h\\n' > evilhooks/$h; chmod +x evilhooks/$h; done"
    )
    nested = (
        "git init -q nested && cd nested && echo x > f && git add f && git commit -q -m nested"
        f" && git config core.fsmonitor '{_payload(marker, 'nested-fsmonitor')}'"
        " && mkdir -p .git/hooks && cp ../evilhooks/* .git/hooks/ && cd .. && git add nested; git status --short"
    )
    worktree_config = (
        f"printf '[core]\\n\\tfsmonitor = {_payload(marker, 'worktree-config')}\\n\\thooksPath = evilhooks\\n"
        f'[remote "origin"]\\n\\turl = {evil_url}\\n\\tpushurl = {evil_url}\\n\' '
        '> "$(git rev-parse --git-dir)/config.worktree"; echo "config.worktree exit $?"'
    )
    merge_head = f'echo {other_sha} > "$(git rev-parse --git-dir)/MERGE_HEAD"; echo "MERGE_HEAD exit $?"'
    fake_dir = (
        "git init -q --bare evil.git"
        f" && git --git-dir=evil.git config core.fsmonitor '{_payload(marker, 'fake-fsmonitor')}'"
        " && git --git-dir=evil.git config core.bare false"
        " && git --git-dir=evil.git config core.hooksPath evilhooks"
        f" && git --git-dir=evil.git config remote.origin.url {evil_url}"
        " && printf 'gitdir: evil.git\\n' > .git; echo \"pointer exit $?\""
    )
    return [
        shell(make_hooks),
        shell(nested),
        shell(worktree_config),
        shell(merge_head),
        shell(fake_dir),
        call("write_file", file_name=".git", content="gitdir: evil.git\n"),
        call("write_file", file_name="notes.txt", content="agent work\n"),
        call("stop"),
    ]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a1_a2_git_metadata_attacks(
    tmp_git_repo: Path, tmp_path: Path, executor: str, request: pytest.FixtureRequest
) -> None:
    require_executor(executor, request, tmp_git_repo)
    repo = tmp_git_repo
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.worktreeConfig", "true")
    other_sha = git(repo, "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "other work").strip()
    git(repo, "branch", "other", other_sha)  # not reachable from main
    marker = tmp_path / "HOST-MARKER"
    token = f"ghp_SENTINEL{uuid.uuid4().hex}"
    evil_root = tmp_path / "evil-server"
    evil_root.mkdir()
    git(evil_root, "init", "-q", "--bare", "x.git")
    with serve_git(tmp_path, token) as real, serve_git(evil_root, "attacker") as evil:
        git(repo, "remote", "set-url", "origin", real.url("remote.git"))
        run = run_agent(
            repo,
            _script(marker, evil.url("x.git"), other_sha),
            executor=executor,
            top=f'github_api_key = "text:{token}"',
            git_table='auto_push_remote = true\nremote = "origin"',
        )
        evil_requests = list(evil.auth_headers)
        real_auth = list(real.auth_headers)
    assert run.code == 0, run.stderr[-3000:] + json.dumps([e for e in run.events if e["type"] != "text_delta"][-4:])

    # A1: nothing ran on the host.
    assert sorted(p.name for p in tmp_path.glob("HOST-MARKER*")) == []

    # The agent's work landed in the real repository, on its branch, as ordinary commits.
    branch = agent_branch(repo)
    assert git(repo, "show", f"{branch}:notes.txt").strip() == "agent work"
    tree = git(repo, "ls-tree", "-r", branch)
    assert " commit " not in tree, f"a gitlink was committed:\n{tree}"
    parents = git(repo, "log", "--format=%P", branch).splitlines()
    assert all(len(p.split()) == 1 for p in parents), f"a merge commit was made: {parents}"
    assert other_sha not in git(repo, "rev-list", branch)

    # A2: the push went to the user's remote with the token, nothing to the attacker's server.
    assert evil_requests == []
    assert real_auth, "the real remote was contacted"
    remote = tmp_path / "remote.git"
    assert git(remote, "rev-parse", branch) == git(repo, "rev-parse", branch)
    assert token not in run.written_text()
    assert token not in git(repo, "config", "--list")


async def test_a1_5_index_overlay_and_diff_ignore_a_redirected_pointer(tmp_git_repo: Path, tmp_path: Path) -> None:
    """The per-agent index overlay and `/diff` run host git on the worktree: never the agent's fake git dir."""
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/a15", session_id="a15")
    marker = tmp_path / "HOST-MARKER"
    git(ws.path, "init", "-q", "--bare", "evil.git")
    git(ws.path, "--git-dir=evil.git", "config", "core.fsmonitor", f"touch {marker}.fsmonitor; false")
    git(ws.path, "--git-dir=evil.git", "config", "core.bare", "false")
    (ws.path / ".git").write_text("gitdir: evil.git\n")
    (ws.path / "hello.txt").write_text("changed\n")
    changed = await changed_since(ws.path, ws.start_ref)
    diff = await agent_diff(ws.path, ws.start_ref, repo_root=tmp_git_repo)
    assert "hello.txt" in changed and "+changed" in diff
    assert list(tmp_path.glob("HOST-MARKER*")) == []


async def test_a1_6_agent_repo_inside_a_user_submodule_is_never_entered(tmp_git_repo: Path, tmp_path: Path) -> None:
    """The user's repo has a submodule (a gitlink); the agent `git init`s a hostile repo at its path."""
    repo = tmp_git_repo
    sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib")
    git(repo, "commit", "-q", "-m", "submodule")
    ws = await create_workspace(repo, worktrees_dir=tmp_path / "wt", branch="kwaak/a16", session_id="a16")
    marker = tmp_path / "HOST-MARKER"
    sub = ws.path / "vendor" / "lib"
    sub.mkdir(parents=True, exist_ok=True)
    git(sub, "init", "-q")
    (sub / "f").write_text("x\n")
    git(sub, "add", "f")
    git(sub, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "hostile")
    git(sub, "config", "core.fsmonitor", f"touch {marker}.fsmonitor; false")
    hooks = sub / ".git" / "hooks"
    for hook in HOOKS:
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}.hook-{hook}\n")
        (hooks / hook).chmod(0o755)
    (ws.path / "notes.txt").write_text("agent work\n")
    assert await has_changes(ws.path)
    assert await stage_all(ws.path)
    layout = agent_git(ws.path)
    new = await commit_staged(layout, "agent", env={})
    assert new is not None
    await agent_diff(ws.path, ws.start_ref)
    assert list(tmp_path.glob("HOST-MARKER*")) == []
    assert f"160000 commit {sha}\tvendor/lib" in git(repo, "ls-tree", "-r", new), "the user's gitlink is unchanged"
    assert git(repo, "show", f"{new}:notes.txt").strip() == "agent work"


def test_a1_8_planted_bytecode_is_never_committed(
    tmp_git_repo: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A hostile agent plants Python bytecode (which the user's interpreter would trust on import if
    its recorded mtime and size matched the source) in a repository whose .gitignore does not list it:
    kwaak's commits take the agent's source edits and never the bytecode."""
    require_executor("local", request, tmp_git_repo)
    repo = tmp_git_repo
    script = [
        shell("mkdir -p pkg/__pycache__ && printf 'poison' > pkg/__pycache__/mod.cpython-311.pyc"),
        call("write_file", file_name="tools/__pycache__/helper.cpython-311.pyc", content="poison"),
        call("write_file", file_name="stray.pyc", content="poison"),
        call("write_file", file_name="pkg/mod.py", content="VALUE = 1\n"),
        call("stop"),
    ]
    run = run_agent(repo, script, executor="local")
    assert run.code == 0, run.stderr[-2000:]
    branch = agent_branch(repo)
    committed = git(repo, "log", "--name-only", "--format=", f"main..{branch}").split()
    assert committed == ["pkg/mod.py"]
