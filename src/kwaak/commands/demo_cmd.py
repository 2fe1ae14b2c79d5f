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

from kwaak import protocol as p
from kwaak.config import Config, load_config
from kwaak.demo.policy import TASK, demo_models
from kwaak.errors import KwaakError
from kwaak.headless.printer import EventPrinter

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
            return asyncio.run(_headless(config, repo))
        return _tui(config, repo)
    finally:
        if not keep:
            shutil.rmtree(parent, ignore_errors=True)


def _backend(config: Config, repo: Path) -> object:
    from kwaak.backend import Backend, Models

    indexing, query = demo_models()
    return Backend(config, repo, models=Models(indexing=indexing, query=query), interactive=True)


async def _headless(config: Config, repo: Path) -> int:
    from kwaak.backend import Backend

    backend = _backend(config.model_copy(update={"endless_mode": True}), repo)
    assert isinstance(backend, Backend)
    backend.buffer_events = False
    backend.add_listener(EventPrinter(output="text"))
    async with backend:
        await backend.start(restore=False)
        completed = await backend.run_op("demo", p.Chat(message=TASK))
        session = backend.sessions["demo"]
        if not completed.ok or session.workspace is None:
            return 1
        result = await session.executor.exec(f"{sys.executable} -m unittest") if session.executor else None
        fixed = result is not None and result.ok
        print(
            f"\nThe agent worked on branch {session.workspace.branch}; "
            + ("the tests pass now." if fixed else "the tests still fail."),
        )
    return 0 if fixed else 1


def _tui(config: Config, repo: Path) -> int:
    from kwaak.backend import Backend
    from kwaak.commands.tui_cmd import _main
    from kwaak.ui import KwaakApp

    def connect() -> Backend:
        backend = _backend(config, repo)
        assert isinstance(backend, Backend)
        return backend

    try:
        tui = KwaakApp(connect, skip_indexing=True, initial_message=TASK)
    except TypeError as exc:  # pragma: no cover - an older UI without initial messages
        raise KwaakError(str(exc)) from exc
    return asyncio.run(_main(tui))
