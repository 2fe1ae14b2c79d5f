"""The bubblewrap sandbox: it must work for git and edits, and every escape attempt must fail."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.executors.base import PathOutsideWorkspace
from kwaak.executors.sandbox import SandboxExecutor
from kwaak.git.commit import commit_changes
from kwaak.git.diffs import agent_diff
from kwaak.git.workspace import AgentWorkspace, create_workspace, remove_workspace
from tests.conftest import git

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("bwrap_ok")]


def tree_digest(root: Path) -> str:
    """A digest of every path and file content under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
async def sandbox(workspace: AgentWorkspace) -> SandboxExecutor:
    return await SandboxExecutor.create(workspace.path)


@pytest.fixture
def http_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"reached")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


async def test_git_and_edits_work_inside(sandbox: SandboxExecutor, workspace: AgentWorkspace) -> None:
    result = await sandbox.exec(
        "echo 'def mul(a, b):' >> src/calc.py && echo new > new.txt && echo scratch > /tmp/scratch"
        " && git status --short && git add -A && git diff --cached --stat && cat /tmp/scratch && pwd"
    )
    assert result.ok, result.output
    assert " M src/calc.py" in result.output and "?? new.txt" in result.output
    assert "2 files changed" in result.output
    assert result.output.rstrip().endswith(f"scratch\n{workspace.path}")
    assert (workspace.path / "new.txt").read_text() == "new\n"


async def test_host_commits_after_the_agent_staged_in_the_sandbox(
    sandbox: SandboxExecutor, workspace: AgentWorkspace, make_config: Callable[..., Config]
) -> None:
    staged = await sandbox.exec("echo staged > staged.txt && git add staged.txt && git diff --cached --name-only")
    assert staged.output.strip() == "staged.txt"
    assert "staged.txt" in await agent_diff(workspace.path, workspace.start_ref)
    result = await commit_changes(workspace.path, make_config(), run_lint=None, message_for=None)
    assert result is not None
    await remove_workspace(workspace)  # drops the sandbox's private object directory
    repo = workspace.repo_root
    assert git(repo, "show", f"{result.sha}:staged.txt") == "staged"
    assert "error" not in subprocess.run(["git", "fsck"], cwd=repo, capture_output=True, text=True).stderr


async def test_timeout_kills_the_sandboxed_process(sandbox: SandboxExecutor, workspace: AgentWorkspace) -> None:
    result = await sandbox.exec("echo started; sleep 30; echo late > late.txt", timeout=1)
    assert result.timed_out and result.output.startswith("started")
    assert not (workspace.path / "late.txt").exists()


async def test_cannot_write_outside_the_worktree(
    sandbox: SandboxExecutor, workspace: AgentWorkspace, tmp_path: Path
) -> None:
    repo = workspace.repo_root
    sibling = await create_workspace(repo, worktrees_dir=tmp_path / "wt", branch="kwaak/sib-2", session_id="s2")
    home = Path(os.environ["HOME"])
    before = {p: tree_digest(p) for p in (repo, sibling.path, home)}
    targets = [
        home / "pwned",
        Path("/etc/kwaak-pwned"),
        Path("/usr/local/kwaak-pwned"),
        Path("/var/tmp/kwaak-pwned"),
        repo / "hello.txt",
        repo / "pwned",
        sibling.path / "hello.txt",
        repo / ".git" / "hooks" / "post-commit",
        repo / ".git" / "config",
    ]
    for target in targets:
        await sandbox.exec(f"echo pwned >> '{target}'")
    await sandbox.exec(f"rm -rf '{repo / '.git' / 'objects'}' '{sibling.path}' '{home}'/* 2>/dev/null")
    await sandbox.exec(f"mount -o remount,rw / && echo pwned > '{repo / 'remounted'}'")
    assert {p: tree_digest(p) for p in (repo, sibling.path, home)} == before
    assert not Path("/etc/kwaak-pwned").exists() and not Path("/usr/local/kwaak-pwned").exists()
    assert not Path("/var/tmp/kwaak-pwned").exists()


async def test_cannot_redirect_git_or_switch_branches(sandbox: SandboxExecutor, workspace: AgentWorkspace) -> None:
    git_dir = Path(git(workspace.path, "rev-parse", "--absolute-git-dir"))
    pinned = {name: (git_dir / name).read_bytes() for name in ("HEAD", "commondir", "gitdir")}
    pointer = (workspace.path / ".git").read_bytes()
    main = git(workspace.repo_root, "rev-parse", "refs/heads/main")
    for cmd in (
        "echo 'gitdir: /tmp/evil' > .git",
        "rm -f .git",
        f"echo /tmp/evil > '{git_dir / 'commondir'}'",
        f"mv '{git_dir / 'HEAD'}' '{git_dir / 'HEAD.old'}'",
        "git checkout -q -b escape",
        "git symbolic-ref HEAD refs/heads/main",
        "git update-ref refs/heads/main HEAD~0",
        "git commit -q --allow-empty -m sneaky",
    ):
        await sandbox.exec(cmd)
    assert {name: (git_dir / name).read_bytes() for name in pinned} == pinned
    assert (workspace.path / ".git").read_bytes() == pointer
    assert git(workspace.path, "symbolic-ref", "HEAD") == "refs/heads/kwaak/test-1"
    assert git(workspace.repo_root, "rev-parse", "refs/heads/main") == main
    assert not git(workspace.repo_root, "branch", "--list", "escape")


async def test_cannot_read_secrets_in_home(workspace: AgentWorkspace, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOME"])
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN SECRET-KEY-SENTINEL-----\n")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ENV-SENTINEL")
    sandbox = await SandboxExecutor.create(workspace.path)
    result = await sandbox.exec(f"cat '{home}/.ssh/id_rsa'; ls -a '{home}'; env")
    assert "SENTINEL" not in result.output
    assert result.exit_code != 0 or "No such file" in result.output


async def test_no_network_unless_allowed(workspace: AgentWorkspace, http_server: str) -> None:
    probe = [sys.executable, "-c", f"import urllib.request as u; print(u.urlopen({http_server!r}, timeout=5).read())"]
    closed = await SandboxExecutor.create(workspace.path)
    denied = await closed.exec(probe)
    assert denied.exit_code != 0 and "reached" not in denied.output
    opened = await SandboxExecutor.create(workspace.path, network=True)
    allowed = await opened.exec(probe)
    assert allowed.ok and "reached" in allowed.output, allowed.output


async def test_cannot_reach_the_docker_socket(sandbox: SandboxExecutor) -> None:
    probe = "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock'); print('CONNECTED')"
    result = await sandbox.exec([sys.executable, "-c", probe])
    assert "CONNECTED" not in result.output and result.exit_code != 0


async def test_cannot_signal_host_processes(sandbox: SandboxExecutor) -> None:
    victim = await asyncio.create_subprocess_exec("sleep", "60")
    try:
        result = await sandbox.exec(f"kill -9 {victim.pid}; echo still-here")
        assert "still-here" in result.output
        assert victim.returncode is None, "a host process was killed from inside the sandbox"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(victim.wait()), 0.2)
    finally:
        victim.kill()
        await victim.wait()


async def test_symlinks_do_not_lead_out(sandbox: SandboxExecutor, workspace: AgentWorkspace) -> None:
    target = workspace.repo_root / "hello.txt"
    original = target.read_bytes()
    await sandbox.exec(f"ln -s '{target}' link && echo pwned >> link; ln -s /etc/passwd pw && echo x >> pw")
    assert target.read_bytes() == original
    with pytest.raises(PathOutsideWorkspace):
        await sandbox.write_file("link", b"pwned")
    with pytest.raises(PathOutsideWorkspace):
        await sandbox.read_file("pw")
    with pytest.raises(PathOutsideWorkspace):
        await sandbox.write_file("../../outside.txt", b"pwned")
    assert target.read_bytes() == original
