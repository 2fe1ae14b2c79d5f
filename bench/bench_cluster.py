"""``kwaak batch --cluster``: wall time of 8 CPU-bound tasks on one Ray node vs two.

A real Ray cluster on loopback (head 127.0.0.2; the second node 127.0.0.3), 2 CPUs declared per
node, 1 CPU per task. Each task's agent (Scripted model) runs one CPU-bound tool call (a pure-Python
loop, ``--work`` million iterations) and stops. With two nodes Ray runs twice as many tasks at once.
Both "nodes" here share this machine's cores, so the gain is bounded by its real core count:
on a 2-core machine expect little; on separate machines the second node adds its own cores.

Usage: ``.venv/bin/python bench/bench_cluster.py [--tasks 8] [--work 20]`` (needs the ``ray`` extra)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")
HEAD, SECOND = "127.0.0.2", "127.0.0.3"


def _ray(*args: str, env: dict[str, str]) -> None:
    subprocess.run([RAY, *args], env=env, check=True, capture_output=True, timeout=300)


def _repo(root: Path, tasks: int, work: int) -> tuple[Path, Path, Path]:
    repo = root / "repo"
    repo.mkdir()
    for cmd in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *cmd], cwd=repo, check=True)
    loop = f"python3 -c 'sum(i * i for i in range({work} * 1_000_000))'"
    script = root / "script.json"
    calls = [{"tool_calls": [{"name": "shell_command", "arguments": {"cmd": loop}}]}]
    script.write_text(json.dumps([*calls, {"tool_calls": [{"name": "stop", "arguments": {}}]}]))
    config = root / "kwaak.toml"
    config.write_text(
        f'project_name = "bench"\nlanguage = "python"\ntool_executor = "local"\n'
        f'cache_dir = "{root / "cache"}"\nlog_dir = "{root / "logs"}"\n'
        f'[llm.indexing]\nprovider = "Scripted"\n[llm.query]\nprovider = "Scripted"\nscript = "{script}"\n'
        f'[llm.embedding]\nprovider = "Scripted"\n'
    )
    batch = root / "tasks.toml"
    batch.write_text("".join(f'[[task]]\nname = "cpu{i}"\nprompt = "burn {i}"\n' for i in range(tasks)))
    return repo, config, batch


def _batch(repo: Path, config: Path, batch: Path, address: str, env: dict[str, str], tasks: int) -> tuple[float, int]:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(config), "batch", str(batch), "-s", "--cluster", address,
         "--parallel", str(tasks), "--output", "jsonl"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    records = [json.loads(line) for line in out.stdout.splitlines()]
    done = [r for r in records if r["type"] == "task_finished" and r["status"] == "done"]
    if len(done) != tasks:
        sys.exit(f"batch failed ({out.returncode}): {out.stderr[-1500:]}\n{out.stdout[-1500:]}")
    return seconds, len({r["node"] for r in done})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--work", type=int, default=20, help="million loop iterations per task")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kb"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with socket.socket() as sock:
        sock.bind((HEAD, 0))
        port = sock.getsockname()[1]
    address = f"{HEAD}:{port}"
    try:
        repo, config, batch = _repo(root, args.tasks, args.work)
        _ray("start", "--head", f"--node-ip-address={HEAD}", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={root / 'ray'}", env=env)  # fmt: skip
        one, nodes_one = _batch(repo, config, batch, address, env, args.tasks)
        _ray("start", f"--address={address}", f"--node-ip-address={SECOND}", "--num-cpus=2", env=env)
        time.sleep(3)
        two, nodes_two = _batch(repo, config, batch, address, env, args.tasks)
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=300, check=False)
        shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores; {args.tasks} tasks x {args.work}M-iteration loop, 1 CPU per task")
    print(f"one node  (2 CPUs):           {one:6.1f} s  (tasks ran on {nodes_one} node)")
    print(f"two nodes (2 + 2 CPUs):       {two:6.1f} s  (tasks ran on {nodes_two} nodes)")
    print(f"speed-up:                     {one / two:6.2f}x")


if __name__ == "__main__":
    main()
