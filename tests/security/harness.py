"""Run the real `kwaak run-agent` / `kwaak batch` as an attacker's scripted model would drive it.

Every run happens in a subprocess under a tiny wrapper that reports the peak RSS of kwaak
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``), so tests can state a memory ceiling.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import GIT_ENV
from tests.reliability.headless import write_config

_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""A control character that must never reach a terminal raw (newline and tab are fine)."""


@dataclass
class Outcome:
    """What one kwaak run left: exit code, output, events (JSONL runs), time and peak memory."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mib: float

    @property
    def events(self) -> list[dict[str, Any]]:
        """The JSONL events (for ``--output jsonl`` runs)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def tool_results(self, name: str | None = None) -> list[dict[str, Any]]:
        """``tool_call_finished`` events (of tool ``name``), in the order the model made the calls."""
        found = [e for e in self.events if e["type"] == "tool_call_finished" and name in (None, e.get("name"))]
        return sorted(found, key=lambda e: int(str(e["call_id"]).rsplit("_", 1)[-1]))

    def describe(self) -> str:
        """For assertion messages."""
        head = f"exit {self.code} after {self.seconds:.1f}s"
        return f"{head}\nstderr: {self.stderr[-2000:]}\nstdout: {self.stdout[-3000:]}"


def config_for(repo: Path, script: list[dict[str, Any]], executor: str, top: str = "", tables: str = "") -> Path:
    """A kwaak.toml (outside ``repo``) whose query model replays ``script`` under ``executor``.

    ``top`` holds top-level keys, ``tables`` whole tables (appended).
    """
    cfg = write_config(repo, script, executor=executor, extra=tables)
    text = cfg.read_text().replace("executor_fallback = false\n", f"executor_fallback = false\n{top}\n", 1)
    cfg.write_text(text)
    return cfg


def kwaak(repo: Path, cfg: Path, *args: str, timeout: float = 240) -> Outcome:
    """Run ``kwaak -c CFG ARGS`` in ``repo`` and measure it."""
    rss_file = repo.parent / f"rss-{time.monotonic_ns()}.txt"
    argv = [sys.executable, "-c", _RSS_WRAPPER, str(rss_file), sys.executable, "-m", "kwaak", "-c", str(cfg), *args]
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **GIT_ENV},
    )
    seconds = time.monotonic() - started
    rss_kib = int(rss_file.read_text()) if rss_file.exists() else 0
    return Outcome(proc.returncode, proc.stdout, proc.stderr, seconds, rss_kib / 1024)


def run_agent(repo: Path, cfg: Path, *args: str, output: str = "jsonl", timeout: float = 240) -> Outcome:
    """``kwaak run-agent`` (no index) with one task."""
    return kwaak(repo, cfg, "-s", "run-agent", "-i", "do the task", "--output", output, *args, timeout=timeout)


def host_snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` and its content (to prove nothing changed)."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()]
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def files_under(root: Path) -> list[Path]:
    """Every regular file kwaak left under ``root`` (logs, sessions, worktrees...)."""
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
