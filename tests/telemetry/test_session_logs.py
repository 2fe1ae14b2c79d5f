"""Per-session log records: the session id on every record, in the file and for the Logs tab."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.commands.app import load_app
from kwaak.config import Config
from kwaak.errors import ConfigError
from kwaak.llm.testing import ScriptedModel
from kwaak.logs import LOG_ENV, current_session_id, reset_logging, session_context, setup_logging
from kwaak.ui.logs import UILogHandler
from tests.cli.conftest import SCRIPTED_CONFIG, run_kwaak
from tests.conftest import git

log = logging.getLogger("kwaak.test.sessions")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    names = ("", "kwaak", "kwaak.agent", "kwaak.test.sessions")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    reset_logging()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def lines_with(path: Path, needle: str) -> list[str]:
    return [line for line in path.read_text().splitlines() if needle in line]


async def test_concurrent_sessions_tag_their_own_records(tmp_path: Path) -> None:
    path = setup_logging(tmp_path, "proj", spec="kwaak.test=debug")
    log.warning("before any session")

    async def work(session_id: str) -> None:
        with session_context(session_id):
            for step in range(3):
                log.debug("%s step %d", session_id, step)
                await asyncio.sleep(0)
            await asyncio.to_thread(log.debug, "%s from a thread", session_id)
        assert current_session_id() is None

    await asyncio.gather(work("alpha"), work("beta"))
    log.warning("after the sessions")
    assert lines_with(path, "before any session")[0].endswith("kwaak.test.sessions: before any session")
    assert "[session" not in lines_with(path, "after the sessions")[0]
    for session in ("alpha", "beta"):
        mine = lines_with(path, f"{session} ")
        assert len(mine) == 4
        assert all(f"kwaak.test.sessions [session {session}]: {session} " in line for line in mine)


async def test_backend_operations_log_with_their_session(
    make_config: Callable[..., Config], tmp_git_repo: Path
) -> None:
    path = setup_logging(tmp_git_repo.parent / "logs", "proj", spec="kwaak=info,warning")
    ui = UILogHandler()
    logging.getLogger().addHandler(ui)

    def failing_title(prompt: str) -> str:
        raise ConfigError("the naming model is down")

    models = Models(indexing=ScriptedModel(prompt_reply=failing_title), query=ScriptedModel())
    backend = Backend(make_config(), tmp_git_repo, models=models)
    try:
        done = await backend.run_op("s-logs", p.Chat(message="hello"))
    finally:
        await backend.aclose()
        logging.getLogger().removeHandler(ui)
    assert done.ok, done
    naming = lines_with(path, "naming prompt failed")
    assert naming and all("[session s-logs]" in line for line in naming)
    (completed,) = lines_with(path, "command chat succeeded")
    assert "kwaak.backend.backend [session s-logs]: command chat succeeded after" in completed
    # The Logs tab's handler sees the same records; each carries the session id.
    messages = [message for _, _, _, message in ui.records]
    assert any(m.startswith("naming prompt failed") for m in messages)
    assert any(m.startswith("command chat succeeded") for m in messages)


def test_session_id_attribute_on_records(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    setup_logging(tmp_path, "proj", spec="info")
    with caplog.at_level(logging.INFO, logger="kwaak.test.sessions"):
        log.info("outside")
        with session_context("s9"):
            log.info("inside")
    assert [(r.getMessage(), r.__dict__.get("session_id")) for r in caplog.records] == [
        ("outside", None),
        ("inside", "s9"),
    ]


@pytest.fixture
def scripted_repo(tmp_git_repo: Path) -> Path:
    text = SCRIPTED_CONFIG.format(cache=tmp_git_repo.parent / "cache", logs=tmp_git_repo.parent / "logs")
    (tmp_git_repo / "kwaak.toml").write_text(text)
    git(tmp_git_repo, "add", "kwaak.toml")
    git(tmp_git_repo, "commit", "-q", "-m", "kwaak.toml")
    return tmp_git_repo


def test_kwaak_log_levels_through_load_app(scripted_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOG_ENV, "kwaak.agent=debug,error")
    app = load_app(None, skip_indexing=True, allow_dirty=False, require_clean=True, cwd=scripted_repo)
    assert logging.getLogger().level == logging.ERROR
    assert logging.getLogger("kwaak.agent").level == logging.DEBUG
    assert app.log_file == scripted_repo.parent / "logs" / "cliproject.log"
    monkeypatch.setenv(LOG_ENV, "kwaak=loud")
    with pytest.raises(ConfigError) as info:
        load_app(None, skip_indexing=True, allow_dirty=False, require_clean=True, cwd=scripted_repo)
    assert "unknown log level 'loud'" in info.value.message and info.value.hint


def test_run_agent_writes_session_tagged_lines(scripted_repo: Path) -> None:
    proc = run_kwaak(
        "-s", "run-agent", "-i", "say hi", "--output", "jsonl", cwd=scripted_repo, env={LOG_ENV: "kwaak=info"}
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    log_file = scripted_repo.parent / "logs" / "cliproject.log"
    (started,) = lines_with(log_file, "kwaak started in")
    assert "[session" not in started
    (completed,) = lines_with(log_file, "command chat succeeded")
    assert " [session " in completed
