"""Load: many agents x many steps with an instant scripted model, watching for leaks.

Each round starts ``agents`` sessions on one Backend, runs them in parallel for ``steps`` model
requests each (a cheap read-only tool per step; the after-completion hooks run as usual), then
deletes them. The first round is the warm-up. After every round it records the process RSS,
open file descriptors (``/proc/self/fd``) and live asyncio tasks. Targets: RSS growth after the
warm-up < 20 %, no file-descriptor or task growth.

Usage: ``.venv/bin/python bench/bench_load.py [--agents 16] [--steps 200] [--rounds 3] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config import validate_config
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.messages import Message, ToolResult, ToolSpec

ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}


@dataclass
class Sample:
    """Resource use after one round."""

    round: int
    seconds: float
    rss_mb: float
    fds: int
    tasks: int
    sessions_ok: int
    model_requests: int


@dataclass
class LoadReport:
    """Every round's sample plus the verdicts."""

    agents: int
    steps: int
    samples: list[Sample] = field(default_factory=list)

    @property
    def rss_growth(self) -> float:
        """RSS growth from the end of the warm-up round to the end of the last round (fraction)."""
        return self.samples[-1].rss_mb / self.samples[0].rss_mb - 1

    @property
    def fd_growth(self) -> int:
        """Open file descriptors gained after the warm-up."""
        return self.samples[-1].fds - self.samples[0].fds

    @property
    def task_growth(self) -> int:
        """Live asyncio tasks gained after the warm-up."""
        return self.samples[-1].tasks - self.samples[0].tasks


def make_repo(root: Path) -> Path:
    """A small git repository to run agents on."""
    repo = root / "repo"
    (repo / "src").mkdir(parents=True)
    for i in range(10):
        (repo / "src" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    env = {**os.environ, **ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def policy(steps: int) -> Any:
    """A model that reads a file ``steps - 1`` times, then calls ``stop``."""

    def step(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Step:
        done = sum(1 for m in messages if isinstance(m, ToolResult))
        if done >= steps - 1:
            return call("stop")
        return call("read_file_with_line_numbers", file_name=f"src/m{done % 10}.py")

    return step


def rss_mb() -> float:
    """Resident set size of this process."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    """Open file descriptors of this process."""
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


async def run_round(backend: Backend, agents: int, round_no: int) -> int:
    """Run ``agents`` sessions to completion, delete them, and return how many succeeded."""
    ids = [f"load-{round_no}-{i}" for i in range(agents)]
    results = await asyncio.gather(*(backend.run_op(sid, p.Chat(message=f"task {sid}")) for sid in ids))
    for sid in ids:
        await backend.run_op(sid, p.DeleteSession())
    return sum(1 for r in results if r.ok)


async def run_load(
    repo: Path, cache: Path, *, agents: int, steps: int, rounds: int, persist: bool = True
) -> LoadReport:
    """Run the rounds on one Backend and sample resources after each (the first is the warm-up)."""
    data: dict[str, Any] = {
        "project_name": "load",
        "language": "python",
        "llm": {"indexing": {"provider": "Scripted"}, "query": {"provider": "Scripted"}},
        "git": {"auto_push_remote": False, "generate_commit_message": False},
        "tool_executor": "local",
        "cache_dir": str(cache),
        "log_dir": str(cache / "logs"),
        "limits": {"max_parallel_agents": agents},
        "num_completions_for_summary": 10_000,
    }
    data["llm"]["embedding"] = {"provider": "Scripted"}
    config = validate_config(data, root=repo)
    model = ScriptedModel(policy(steps))
    models = Models(indexing=ScriptedModel(prompt_reply="load"), query=model)
    report = LoadReport(agents=agents, steps=steps)
    async with Backend(config, repo, models=models, buffer_events=False, persist=persist) as backend:
        for round_no in range(rounds):
            started = time.monotonic()
            ok = await run_round(backend, agents, round_no)
            seconds = time.monotonic() - started
            requests = len(model.requests)
            backend._sessions.clear()
            model.requests.clear()
            gc.collect()
            await asyncio.sleep(0)
            tasks = len(asyncio.all_tasks())
            sample = Sample(round_no, round(seconds, 2), round(rss_mb(), 1), open_fds(), tasks, ok, requests)
            report.samples.append(sample)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print one line per round plus the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        cache = Path(tmp) / "cache"
        report = asyncio.run(run_load(repo, cache, agents=args.agents, steps=args.steps, rounds=args.rounds))
    print(f"{args.agents} agents x {args.steps} steps, {args.rounds} rounds (round 0 is the warm-up)")
    for s in report.samples:
        steps_per_s = args.agents * args.steps / s.seconds if s.seconds else 0.0
        print(
            f"round {s.round}: {s.seconds:7.2f} s ({steps_per_s:6.0f} steps/s)  rss {s.rss_mb:7.1f} MB  "
            f"fds {s.fds:4d}  tasks {s.tasks:3d}  ok {s.sessions_ok}/{args.agents}  requests {s.model_requests}"
        )
    verdict = report.rss_growth < 0.20 and report.fd_growth <= 0 and report.task_growth <= 0
    print(
        f"rss growth after warm-up {report.rss_growth * 100:+.1f} % (target < 20 %), "
        f"fd growth {report.fd_growth:+d}, task growth {report.task_growth:+d}: {'PASS' if verdict else 'FAIL'}"
    )
    if args.json:
        payload = {**asdict(report), "rss_growth": report.rss_growth, "pass": verdict}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
