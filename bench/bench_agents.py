"""Engine benchmarks: real parallelism and framework overhead per agent step.

1. 8 agents x 20 steps with a 500 ms model, against 1 agent x 20 steps (target ratio <= 1.25).
2. Overhead per step with an instant model and a cheap read-only tool, with and without the
   after-completion commit hook (target <= 10 ms local).

3. Memory: peak RSS growth of this process per extra agent (``ru_maxrss`` after the many-agent
   run minus after the one-agent run, divided by the extra agents; target <= 5 MB).

Usage: ``.venv/bin/python bench/bench_agents.py [--quick] [--agents N] [--steps N] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config import Config, validate_config
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.messages import Message, ToolResult, ToolSpec

ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}


def make_repo(root: Path) -> Path:
    """A small git repository to run agents on."""
    repo = root / "repo"
    (repo / "src").mkdir(parents=True)
    for i in range(20):
        (repo / "src" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    env = {**os.environ, **ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def make_config(repo: Path, **overrides: Any) -> Config:
    """A local-executor config with scripted providers."""
    data: dict[str, Any] = {
        "project_name": "bench",
        "language": "python",
        "llm": {r: {"provider": "Scripted"} for r in ("indexing", "query", "embedding")},
        "commands": {},
        "git": {"auto_push_remote": False, "main_branch": "main"},
        "tool_executor": "local",
        "cache_dir": str(repo.parent / "cache"),
        "log_dir": str(repo.parent / "logs"),
        "num_completions_for_summary": 1000,
        **overrides,
    }
    return validate_config(data, root=repo)


def steps_policy(steps: int) -> Any:
    """A policy: ``steps`` cheap read-only tool calls, then stop."""

    def policy(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Step:
        done = sum(isinstance(m, ToolResult) for m in messages)
        if done >= steps - 1:
            return call("stop")
        return call("read_file_with_line_numbers", file_name=f"src/m{done % 20}.py")

    return policy


async def run_agents(repo: Path, *, agents: int, steps: int, delay: float, **overrides: Any) -> float:
    """Wall time of ``agents`` sessions of ``steps`` steps each, all started at once."""
    config = make_config(repo, limits={"max_parallel_agents": max(agents, 1)}, **overrides)
    models = Models(indexing=ScriptedModel(), query=ScriptedModel(steps_policy(steps), delay=delay))
    async with Backend(config, repo, models=models, buffer_events=False, persist=False) as backend:
        # Start sessions first so that set-up (worktrees) is not part of the measured turns.
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(backend.run_op(f"agent-{i}", p.Chat(message=f"task {i}")) for i in range(agents))
        )
        elapsed = time.perf_counter() - t0
    if not all(r.ok for r in results):
        raise SystemExit(f"an agent failed: {[r.error for r in results if not r.ok]}")
    return elapsed


async def step_overhead(repo: Path, *, steps: int, commits: bool) -> float:
    """Milliseconds per step with an instant model, minus nothing: everything the framework does."""
    timings = []
    for _ in range(3):
        elapsed = await run_agents(
            repo, agents=1, steps=steps, delay=0.0, git={"auto_push_remote": False, "auto_commit_disabled": not commits}
        )
        timings.append(elapsed)
    return statistics.median(timings) / steps * 1000


async def main(argv: list[str]) -> int:
    """Run the benchmarks and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="4 agents x 8 steps")
    parser.add_argument("--agents", type=int, help="agents in the parallel run (default 8, --quick 4)")
    parser.add_argument("--steps", type=int, help="steps per agent (default 20, --quick 8)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    agents, steps = (4, 8) if args.quick else (8, 20)
    agents, steps = args.agents or agents, args.steps or steps
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        one = await run_agents(repo, agents=1, steps=steps, delay=0.5)
        rss_one = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        many = await run_agents(repo, agents=agents, steps=steps, delay=0.5)
        rss_many = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_per_agent = (rss_many - rss_one) / max(agents - 1, 1)
        with_commits = await step_overhead(repo, steps=50, commits=True)
        without_commits = await step_overhead(repo, steps=50, commits=False)
    ratio = many / one
    rows = [
        ("1 agent x steps (500 ms model)", f"{one:.2f} s", ""),
        (f"{agents} agents x {steps} steps in parallel", f"{many:.2f} s", ""),
        ("parallel ratio (target <= 1.25)", f"{ratio:.3f}", "PASS" if ratio <= 1.25 else "FAIL"),
        (
            "peak RSS growth per extra agent (target <= 5)",
            f"{rss_per_agent:.2f} MB",
            "PASS" if rss_per_agent <= 5 else "FAIL",
        ),
        ("overhead per step, commit hook on", f"{with_commits:.1f} ms", ""),
        (
            "overhead per step, no commit hook (target <= 10)",
            f"{without_commits:.1f} ms",
            "PASS" if without_commits <= 10 else "FAIL",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, verdict in rows:
        print(f"{name:<{width}}  {value:>10}  {verdict}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "agents": agents,
                    "steps": steps,
                    "one_s": one,
                    "many_s": many,
                    "parallel_ratio": ratio,
                    "rss_one_mb": rss_one,
                    "rss_many_mb": rss_many,
                    "rss_per_extra_agent_mb": rss_per_agent,
                    "step_overhead_ms_commits": with_commits,
                    "step_overhead_ms": without_commits,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
