"""Helpers for git tests: snapshots of the user's checkout."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from pathlib import Path

from tests.conftest import git


def checkout_snapshot(repo: Path) -> dict[str, str]:
    """Every byte of the user's working tree (not ``.git``), plus status, HEAD and current branch."""
    snap: dict[str, str] = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo)
        if rel.parts[0] == ".git":
            continue
        if path.is_symlink():
            snap[str(rel)] = "link:" + str(path.readlink())
        elif path.is_file():
            snap[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            snap[str(rel)] = "dir"
    snap["<status>"] = git(repo, "status", "--porcelain", "--untracked-files=all")
    snap["<HEAD>"] = git(repo, "rev-parse", "HEAD")
    snap["<branch>"] = git(repo, "symbolic-ref", "HEAD")
    snap["<index>"] = git(repo, "ls-files", "--stage")
    return snap


def start_then_sigkill(argv: list[str]) -> str:
    """Run ``argv`` until it prints its first line, then SIGKILL it (a simulated crash); return the line."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline().strip()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    return line
