"""Hostile repositories: escaping symlinks, binaries, non-UTF-8, a 200 MB file, deep trees, odd names,
no commits, a detached HEAD and submodules, through `kwaak index`/`search`, tools and session start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.git.workspace import create_workspace
from kwaak.index import CodeIndex
from kwaak.llm.testing import ScriptedModel, call
from kwaak.messages import ToolResult
from tests.cli.conftest import SCRIPTED_CONFIG
from tests.conftest import GIT_ENV, git
from tests.tools.conftest import invoke, make_ctx

SENTINEL = "OUTSIDE-SECRET-7f3a9c"
ODD_NAMES = ("with space.py", "new\nline.py", "ünïcødé_名前.py", "-dash.py", "quote'\"s.py")
DEPTH = 60


def _build_hostile(repo: Path) -> None:
    outside = repo.parent / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(f"API_KEY = '{SENTINEL}'\n")
    (repo / "escape.py").symlink_to(outside / "secret.py")
    (repo / "escape_dir").symlink_to(outside)
    (repo / "root_link").symlink_to("/")
    (repo / "loop").symlink_to("loop")
    (repo / "blob.bin").write_bytes(bytes(range(256)) * 64)
    (repo / "nul.py").write_bytes(b"def nul():\n    return '\x00'\n")
    (repo / "latin1.py").write_bytes("def caf\xe9():\n    return 'd\xe9j\xe0 vu'\n".encode("latin-1"))
    for name in ODD_NAMES:
        (repo / name).write_text(f"def odd_function_{abs(hash(name)) % 1000}():\n    return 'odd needle'\n")
    deep = repo.joinpath(*[f"d{i}" for i in range(DEPTH)])
    deep.mkdir(parents=True)
    (deep / "bottom.py").write_text("def deepest_function():\n    return 'deep needle'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hostile content")
    with open(repo / "huge.py", "wb") as fh:  # 200 MB, sparse, untracked
        fh.truncate(200 * 1024 * 1024)


@pytest.fixture
def hostile_repo(tmp_git_repo: Path) -> Path:
    _build_hostile(tmp_git_repo)
    return tmp_git_repo


def _cli_config(repo: Path) -> Path:
    cfg = repo.parent / "kwaak-cli.toml"
    cfg.write_text(SCRIPTED_CONFIG.format(cache=repo.parent / "cache", logs=repo.parent / "logs"))
    return cfg


def _kwaak(repo: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(_cli_config(repo)), "--allow-dirty", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **GIT_ENV},
    )


def test_index_and_search_cli_on_a_hostile_repo(hostile_repo: Path) -> None:
    started = time.monotonic()
    indexed = _kwaak(hostile_repo, "index")
    assert indexed.returncode == 0, indexed.stderr
    assert "Traceback" not in indexed.stderr
    assert time.monotonic() - started < 120
    found = _kwaak(hostile_repo, "search", "odd needle deepest_function", "-k", "50", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    paths = {h["path"] for h in (hits["results"] if isinstance(hits, dict) else hits)}
    assert set(ODD_NAMES) & paths, paths
    assert any(path.endswith("d59/bottom.py") for path in paths), paths
    assert not {"huge.py", "blob.bin", "escape.py"} & paths
    assert SENTINEL not in found.stdout
    everything = _kwaak(hostile_repo, "search", "API_KEY", "-k", "50")
    assert SENTINEL not in everything.stdout


async def test_tools_on_a_hostile_repo(hostile_repo: Path, make_config: Callable[..., Config]) -> None:
    ctx = make_ctx(hostile_repo, make_config(agent_edit_mode="whole"))
    cases: dict[tuple[str, str], tuple[bool, str]] = {
        ("read_file", "escape.py"): (True, "outside the project"),
        ("read_file", "escape_dir/secret.py"): (True, "outside the project"),
        ("read_file", "root_link/etc/passwd"): (True, "outside the project"),
        ("read_file", "loop"): (True, "symbolic link"),
        ("read_file", "blob.bin"): (True, "binary file"),
        ("read_file", "nul.py"): (True, "binary file"),
        ("read_file", "latin1.py"): (False, "def caf"),
        ("read_file", "huge.py"): (True, "more than the 16.0 MiB"),  # refused from its size, never read
        ("read_file", "/".join(f"d{i}" for i in range(DEPTH)) + "/bottom.py"): (False, "deep needle"),
        **{("read_file", name): (False, "odd needle") for name in ODD_NAMES},
    }
    for (tool, name), (is_error, needle) in cases.items():
        started = time.monotonic()
        result = await invoke(ctx, tool, file_name=name)
        assert time.monotonic() - started < 10, name
        assert result.is_error == is_error, (name, result.content[:200])
        assert needle in result.content, (name, result.content[:200])
        assert SENTINEL not in result.content
    for tool, args in [
        ("search_file", {"file_name": "bottom"}),
        ("search_code", {"query": "odd needle"}),
        ("search_code", {"query": "API_KEY"}),
        ("shell_command", {"cmd": "ls -R . | wc -l"}),
        ("git", {"command": "status --short"}),
    ]:
        result = await invoke(ctx, tool, **args)
        assert isinstance(result, ToolResult)
        assert SENTINEL not in result.content, (tool, result.content[:300])


async def test_agent_session_on_a_hostile_repo_commits_odd_names(make_backend, hostile_repo: Path) -> None:
    model = ScriptedModel(
        [
            call("search_code", query="odd needle"),
            call("read_file_with_line_numbers", file_name="ünïcødé_名前.py"),
            call("write_file", file_name="new dir/ü ñ\nx.py", content="print('hi')\n"),
            call("shell_command", cmd="cat escape.py; ls root_link/ | head -3"),
            call("stop"),
        ]
    )
    backend, rec = make_backend(model)
    done = await backend.run_op("s", p.Chat(message="look around"))
    assert done.ok, done
    branch = backend._sessions["s"].workspace.branch
    assert git(hostile_repo, "show", f"{branch}:new dir/ü ñ\nx.py") == "print('hi')"
    assert rec.of(p.Committed, "s")


async def test_repo_without_commits(make_backend, tmp_path: Path, make_config: Callable[..., Config]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main")
    (empty / "a.py").write_text("x = 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(_cli_config(empty)), "--allow-dirty", "-s", "run-agent", "-i", "x"],
        cwd=empty,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "commit" in (proc.stderr + proc.stdout).lower()
    indexed = _kwaak(empty, "index")
    assert indexed.returncode == 0 and "Traceback" not in indexed.stderr, indexed.stderr


async def test_detached_head_session_branches_from_the_detached_commit(make_backend, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "second.txt").write_text("second\n")
    git(tmp_git_repo, "add", "second.txt")
    git(tmp_git_repo, "commit", "-q", "-m", "second")
    git(tmp_git_repo, "checkout", "-q", "--detach", "HEAD~1")
    detached = git(tmp_git_repo, "rev-parse", "HEAD")
    backend, _ = make_backend(ScriptedModel([call("write_file", file_name="x.txt", content="x\n"), call("stop")]))
    done = await backend.run_op("s", p.Chat(message="work detached"))
    assert done.ok, done
    ws = backend._sessions["s"].workspace
    assert ws.start_ref == detached
    assert git(tmp_git_repo, "rev-parse", f"{ws.branch}~1") == detached
    assert git(tmp_git_repo, "rev-parse", "HEAD") == detached, "the user's detached checkout is untouched"


async def test_submodules_do_not_break_sessions_or_indexing(make_backend, tmp_git_repo: Path, tmp_path: Path) -> None:
    sub = tmp_path / "subproject"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    (sub / "lib.py").write_text("def from_submodule():\n    return 1\n")
    git(sub, "add", ".")
    git(sub, "commit", "-q", "-m", "sub")
    git(tmp_git_repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub")
    git(tmp_git_repo, "commit", "-q", "-m", "add submodule")
    model = ScriptedModel(
        [call("shell_command", cmd="git status --short; ls vendor"), call("search_code", query="x"), call("stop")]
    )
    backend, rec = make_backend(model)
    done = await backend.run_op("s", p.Chat(message="with submodule"))
    assert done.ok, done
    assert all(m.ok for m in rec.of(p.ToolCallFinished, "s"))
    indexed = _kwaak(tmp_git_repo, "index")
    assert indexed.returncode == 0 and "Traceback" not in indexed.stderr, indexed.stderr


async def test_agent_symlink_to_a_host_file_never_reaches_index_results(
    open_index: Callable[..., Any], shop_repo: Path, tmp_path: Path
) -> None:
    """A sandboxed agent could plant `x.py -> ~/.secret`; the host-side index overlay must not read it."""
    secret = tmp_path / "host-secret.py"
    secret.write_text(f"def leaked_credentials():\n    return '{SENTINEL}'\n")
    index: CodeIndex = await open_index()
    await index.update()
    workspace = await create_workspace(shop_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/evil", session_id="e")
    (workspace.path / "src" / "leak.py").symlink_to(secret)
    hits = await index.search("leaked_credentials", k=50, overlay=workspace.path)
    assert all(SENTINEL not in h.content for h in hits)
    assert all(h.path != "src/leak.py" for h in hits)
