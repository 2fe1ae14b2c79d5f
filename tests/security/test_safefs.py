"""Unit attacks on host-side file access (safefs), the per-agent file worker and output capping.

The end-to-end versions (a scripted model through `kwaak run-agent`) are in test_file_attacks.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kwaak.executors import safefs
from kwaak.executors.base import PathOutsideWorkspace
from kwaak.executors.fileworker import FileLimits, FileWorker, FileWorkTimeout
from kwaak.executors.local import HeadTail, run_process
from kwaak.executors.safefs import (
    FileTooLarge,
    ProtectedPath,
    SpecialFileRefused,
    SymlinkRefused,
    read_beneath,
    write_beneath,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "wt"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a = 1\n")
    (tmp_path / "secret.toml").write_text("token = 'HOST-SECRET'\n")
    return root


@pytest.fixture(params=["openat2", "walk"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with openat2 (when the kernel has it) and with the O_NOFOLLOW walk."""
    if request.param == "walk":
        monkeypatch.setattr(safefs, "_openat2_usable", lambda: False)
    elif not safefs._openat2_usable():
        pytest.skip("this kernel has no openat2")
    return str(request.param)


def test_a3_1_reads_and_writes_inside(tree: Path, mode: str) -> None:
    """A3.1 baseline: ordinary files are read and written (atomically, mode kept)."""
    assert read_beneath(tree, "src/a.py") == b"a = 1\n"
    assert read_beneath(tree, str(tree / "src/a.py")) == b"a = 1\n"
    (tree / "src/a.py").chmod(0o755)
    write_beneath(tree, "src/a.py", b"a = 2\n")
    write_beneath(tree, "new/deep/b.py", b"b\n")
    assert (tree / "src/a.py").read_bytes() == b"a = 2\n"
    assert (tree / "src/a.py").stat().st_mode & 0o777 == 0o755
    assert (tree / "new/deep/b.py").read_bytes() == b"b\n"
    assert not [p for p in tree.rglob("*.tmp")]


def test_a3_2_symlinks_are_never_followed(tree: Path, mode: str) -> None:
    """A3.2: a link to a host file, a link to a directory outside and a link on the way are refused."""
    outside = tree.parent
    (tree / "leak.toml").symlink_to(outside / "secret.toml")
    (tree / "out").symlink_to(outside)
    (tree / "inner").symlink_to("src")  # even links that stay inside: the host never follows them
    for path in ("leak.toml", "out/secret.toml", "inner/a.py"):
        with pytest.raises(SymlinkRefused, match="symbolic link"):
            read_beneath(tree, path)
    for path in ("leak.toml", "out/evil.txt", "inner/evil.py"):
        with pytest.raises(SymlinkRefused):
            write_beneath(tree, path, b"evil")
    assert (outside / "secret.toml").read_text() == "token = 'HOST-SECRET'\n"
    assert not (outside / "evil.txt").exists()
    assert (tree / "leak.toml").is_symlink()
    for path in ("../secret.toml", str(outside / "secret.toml"), "src/../../secret.toml"):
        with pytest.raises(PathOutsideWorkspace):
            read_beneath(tree, path)


def test_a3_3_fifos_devices_and_sockets_are_refused_without_blocking(tree: Path, mode: str) -> None:
    """A3.3 / A7.1: a FIFO is refused at once (never opened for reading); so are devices and sockets."""
    os.mkfifo(tree / "fifo")
    started = time.monotonic()
    with pytest.raises(SpecialFileRefused, match="FIFO"):
        read_beneath(tree, "fifo")
    with pytest.raises(SpecialFileRefused):
        write_beneath(tree, "fifo", b"x")
    assert time.monotonic() - started < 2
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tree / "sock"))
        with pytest.raises(SpecialFileRefused, match="socket"):
            read_beneath(tree, "sock")
    if os.geteuid() == 0:
        os.mknod(tree / "null", 0o600 | 0o020000, os.makedev(1, 3))  # a character device
        with pytest.raises(SpecialFileRefused, match="device"):
            read_beneath(tree, "null")


def test_a3_4_git_metadata_is_never_written(tree: Path, mode: str) -> None:
    """A3.4: `.git` (file or directory) at any depth cannot be written through the file layer."""
    (tree / ".git").write_text("gitdir: /somewhere\n")
    for path in (".git", ".git/config", "sub/.git", "sub/.GIT/hooks/pre-commit", "x/.git/HEAD"):
        with pytest.raises(ProtectedPath):
            write_beneath(tree, path, b"gitdir: /tmp/evil\n")
    assert (tree / ".git").read_text() == "gitdir: /somewhere\n"
    assert not (tree / "sub").exists()
    assert read_beneath(tree, ".git") == b"gitdir: /somewhere\n"  # reading is fine


def test_a7_2_size_is_checked_before_reading(tree: Path, mode: str) -> None:
    """A7.2: a sparse 2 GiB file is refused from its size, without reading it."""
    with open(tree / "sparse.bin", "wb") as fh:
        fh.truncate(2 * 1024**3)
    started = time.monotonic()
    with pytest.raises(FileTooLarge, match="2.0 GiB"):
        read_beneath(tree, "sparse.bin", max_bytes=1024 * 1024)
    assert time.monotonic() - started < 1


def test_a3_5_swapping_a_directory_for_a_link_mid_walk_is_caught(tree: Path) -> None:
    """A3.5: the swap the old check-then-open lost: `src` becomes a link to the host between calls."""
    outside = tree.parent / "hostdir"
    outside.mkdir()
    (outside / "a.py").write_text("HOST FILE\n")
    (tree / "src").rename(tree / "src.bak")
    (tree / "src").symlink_to(outside)
    with pytest.raises(SymlinkRefused):
        read_beneath(tree, "src/a.py")
    with pytest.raises(SymlinkRefused):
        write_beneath(tree, "src/a.py", b"pwned")
    assert (outside / "a.py").read_text() == "HOST FILE\n"


async def test_a7_3_a_stuck_file_call_ends_the_wait_and_only_blocks_its_own_agent() -> None:
    """A7.3: a file call that never returns times out; another agent's worker is unaffected."""
    release = threading.Event()
    stuck = FileWorker(FileLimits(timeout_sec=0.5, slots=1))
    other = FileWorker(FileLimits(timeout_sec=5, slots=1))
    started = time.monotonic()
    with pytest.raises(FileWorkTimeout, match="did not finish"):
        await stuck.run("reading hang", release.wait)
    with pytest.raises(FileWorkTimeout, match="still stuck"):  # its only slot is still held
        await stuck.run("reading b", lambda: 1)
    assert await other.run("reading c", lambda: 42) == 42
    assert time.monotonic() - started < 4
    release.set()
    await asyncio.sleep(0.2)
    assert await stuck.run("reading d", lambda: 7) == 7  # the slot came back when the call ended


async def test_a7_4_errors_cross_the_worker() -> None:
    worker = FileWorker()
    with pytest.raises(FileNotFoundError):
        await worker.run("reading x", lambda: Path("/nonexistent/x").read_bytes())


def test_head_tail_buffer_keeps_both_ends() -> None:
    buf = HeadTail(100)
    for i in range(1000):
        buf.add(f"{i:04d}\n".encode())
    text = buf.text()
    assert text.startswith("0000\n0001\n")
    assert text.endswith("0998\n0999\n")
    assert f"{5000 - 100} bytes of output omitted" in text


async def test_a7_5_a_flood_of_command_output_is_capped_while_streaming(tmp_path: Path) -> None:
    """A7.5: 256 MiB of output keeps only head and tail (the whole is never buffered)."""
    script = "head -c 268435456 /dev/zero | tr '\\0' 'x'; echo; echo THE-END"
    result = await run_process(["sh", "-c", script], cwd=tmp_path, env=None, timeout=120, max_output_bytes=1 << 16)
    assert result.ok
    assert len(result.output) < 70_000
    assert result.output.rstrip().endswith("THE-END")
    assert "bytes of output omitted" in result.output


def test_a3_11_agents_md_linking_to_a_host_secret_never_reaches_the_prompt(tree: Path) -> None:
    """A3.11: an agent's branch commits `AGENTS.md` as a link to a host file (or a FIFO); a later
    session's prompt is built from it without following it out of the worktree, and never hangs."""
    from kwaak.agent.prompts import read_instructions

    (tree / "AGENTS.md").symlink_to(tree.parent / "secret.toml")
    os.mkfifo(tree / "CLAUDE.md")
    started = time.monotonic()
    assert read_instructions(tree) == []
    assert time.monotonic() - started < 2
    (tree / "AGENTS.md").unlink()
    (tree / "CLAUDE.md").unlink()
    (tree / "docs").mkdir()
    (tree / "docs" / "agents.md").write_text("Use tabs.\n")
    (tree / "AGENTS.md").symlink_to("docs/agents.md")  # a link inside the project still works
    assert read_instructions(tree) == [("AGENTS.md", "Use tabs.")]


def test_a_same_size_rewrite_in_the_same_second_is_never_hidden_by_a_stale_pyc(tmp_path: Path) -> None:
    """An agent fixing ``a - b`` into ``a + b`` right after a test run must test the fix (issue 26 CI)."""
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    program = "import calc; print(calc.add(2, 3))"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}
    while time.time() % 1 > 0.1:  # room for the import and the rewrite inside one second
        time.sleep(0.05)
    first = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "-1" and list((tmp_path / "__pycache__").glob("calc.*.pyc"))
    write_beneath(tmp_path, "calc.py", b"def add(a, b):\n    return a + b\n")
    second = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    assert second.stdout.strip() == "5"
