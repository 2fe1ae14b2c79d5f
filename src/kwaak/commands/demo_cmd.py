"""``kwaak demo [--headless]``: watch an agent fix a bug, with no API key and no network.

A bundled sample project with a failing test is copied to a temporary directory and made a git
repository. A scripted model drives the real engine: real worktree, real tools, real commits.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak.config import Config, load_config
from kwaak.demo.policy import TASK, demo_models
from kwaak.errors import KwaakError
from kwaak.headless.printer import EventPrinter

if TYPE_CHECKING:
    from kwaak.backend import Backend, Models

SAMPLE = Path(__file__).resolve().parent.parent / "demo" / "sample"
CONFIG = """# kwaak demo configuration: scripted models, no network needed.
project_name = "pricing-demo"
language = "python"
tool_executor = "local"
cache_dir = "{cache}"
log_dir = "{logs}"

[commands]
test = "{python} -m unittest -v"

[git]
auto_push_remote = false
main_branch = "main"

[llm.indexing]
provider = "Scripted"

[llm.query]
provider = "Scripted"

[llm.embedding]
provider = "Scripted"
"""


def prepare_sample(parent: Path) -> Path:
    """Copy the sample project under ``parent``, write its kwaak.toml and make the first commit."""
    repo = parent / "pricing-demo"
    shutil.copytree(SAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "kwaak.toml").write_text(
        CONFIG.format(cache=parent / "cache", logs=parent / "logs", python=sys.executable), encoding="utf-8"
    )
    (repo / ".gitignore").write_text("__pycache__/\n", encoding="utf-8")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "kwaak demo",
        "GIT_AUTHOR_EMAIL": "demo@kwaak.invalid",
        "GIT_COMMITTER_NAME": "kwaak demo",
        "GIT_COMMITTER_EMAIL": "demo@kwaak.invalid",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Sample project"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return repo


def run(app: object = None, *, headless: bool = False, keep: bool = False) -> int:
    """Run the demo; returns 0 when the agent fixed the bug (headless) or the TUI closed."""
    parent = Path(tempfile.mkdtemp(prefix="kwaak-demo-"))
    try:
        repo = prepare_sample(parent)
        config = load_config(repo)
        print(f"Demo project: {repo}", file=sys.stderr)
        if headless:
            return _headless(config, repo)
        return _tui(config, repo)
    finally:
        if not keep:
            shutil.rmtree(parent, ignore_errors=True)


def _models() -> Models:
    from kwaak.backend import Models

    indexing, query = demo_models()
    return Models(indexing=indexing, query=query)


def _headless(config: Config, repo: Path) -> int:
    from kwaak.commands.run_agent import headless_config
    from kwaak.headless.runner import AgentJob, HeadlessRunner

    printer = EventPrinter(output="text")
    runner = HeadlessRunner(
        headless_config(config), repo, models=_models(), index=False, interactive=True, listeners=[printer]
    )
    outcome: list[str] = []

    async def check_tests(backend: Backend, results: list[p.AgentFinished]) -> None:
        summary = runner.summary("demo")
        if results[0].ok and summary is not None and summary.worktree is not None:
            outcome.append("pass" if await _tests_pass(Path(summary.worktree)) else "fail")

    results = asyncio.run(runner.run([AgentJob(session_id="demo", op=p.Chat(message=TASK))], after=check_tests))
    printer.record(results[0])
    if outcome:
        tests = "the tests pass now." if outcome == ["pass"] else "the tests still fail."
        print(f"\nThe agent worked on branch {results[0].branch}; {tests}")
    code = runner.exit_code(results)
    return code if code else (0 if outcome == ["pass"] else 1)


async def _tests_pass(worktree: Path) -> bool:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "unittest",
        cwd=worktree,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await proc.wait() == 0


def _tui(config: Config, repo: Path) -> int:
    from kwaak.backend import Backend
    from kwaak.commands.tui_cmd import _main
    from kwaak.ui import KwaakApp

    def connect() -> Backend:
        return Backend(config, repo, models=_models(), interactive=True)

    try:
        tui = KwaakApp(connect, skip_indexing=True, initial_message=TASK, settle_gc=True)
    except TypeError as exc:  # pragma: no cover - an older UI without initial messages
        raise KwaakError(str(exc)) from exc
    return asyncio.run(_main(tui))
