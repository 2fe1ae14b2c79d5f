"""Run `kwaak run-agent` as a real process with a scripted model, and inspect what it leaves behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import git


def write_config(repo: Path, script: list[dict[str, Any]], *, executor: str = "local", extra: str = "") -> Path:
    """A kwaak.toml outside ``repo`` whose query model replays ``script`` (JSON lines)."""
    script_file = repo.parent / "script.jsonl"
    script_file.write_text("".join(json.dumps(step) + "\n" for step in script))
    cfg = repo.parent / "kwaak.toml"
    cfg.write_text(
        f"""
project_name = "reliability"
language = "python"
tool_executor = "{executor}"
executor_fallback = false
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"
[git]
auto_push_remote = false
generate_commit_message = false
[llm.indexing]
provider = "Scripted"
[llm.query]
provider = "Scripted"
script = "{script_file}"
[llm.embedding]
provider = "Scripted"
{extra}
"""
    )
    return cfg


def sleep_marker() -> str:
    """A unique `sleep` command whose process can be found with ``pgrep -f``."""
    return f"sleep 45.{uuid.uuid4().int % 10**8:08d}"


def processes_matching(needle: str) -> list[str]:
    """Command lines of live processes containing ``needle`` (zombies excluded)."""
    return list(pids_matching(needle).values())


def kill_matching(needle: str) -> None:
    """SIGKILL, by pid, the processes our test started (``needle`` is a unique marker)."""
    for pid in pids_matching(needle):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def pids_matching(needle: str) -> dict[int, str]:
    """Live processes (pid → command line) whose command line contains ``needle``."""
    found: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z" and str(os.getpid()) != proc.name:
            found[int(proc.name)] = cmdline.strip()
    return found


@dataclass
class Running:
    """A started `kwaak run-agent --output jsonl` process and the events read so far."""

    proc: subprocess.Popen[str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def wait_for_event(self, predicate: Any, timeout: float = 60) -> dict[str, Any]:
        """Read events until one matches ``predicate`` (fails the test on EOF or timeout)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"kwaak ended early: {self.events[-5:]}")
            event = json.loads(line)
            self.events.append(event)
            if predicate(event):
                return event
        raise AssertionError("timed out waiting for an event")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for exit; collect the remaining events and stderr."""
        out, err = self.proc.communicate(timeout=timeout)
        self.events += [json.loads(line) for line in out.splitlines() if line.strip()]
        return self.proc.returncode, err


def start_run_agent(repo: Path, cfg: Path, message: str = "do the task", *args: str) -> Running:
    """Start `kwaak run-agent` in ``repo`` (no index) with JSONL output."""
    return start_kwaak(repo, cfg, "run-agent", "-i", message, "--output", "jsonl", *args)


def start_kwaak(repo: Path, cfg: Path, *args: str) -> Running:
    """Start `kwaak -c CFG -s ARGS...` in ``repo`` (no index); read its stdout as JSON lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kwaak", "-c", str(cfg), "-s", *args],
        cwd=repo,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Running(proc)


def tool_started(name: str) -> Any:
    """A predicate for the start of tool ``name``."""
    return lambda e: e["type"] == "tool_call_started" and e.get("name") == name


def agent_worktrees(repo: Path) -> list[str]:
    """Worktrees of ``repo`` other than the main checkout."""
    lines = git(repo, "worktree", "list", "--porcelain").splitlines()
    paths = [line.split(" ", 1)[1] for line in lines if line.startswith("worktree ")]
    return [p for p in paths if Path(p).resolve() != repo.resolve()]


def kwaak_branches(repo: Path) -> list[str]:
    """The agents' branches."""
    return [b for b in git(repo, "branch", "--format=%(refname:short)").splitlines() if b.startswith("kwaak/")]
