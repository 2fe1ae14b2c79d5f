"""Log file setup (levels, redaction, never stderr) and the app start-up helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwaak.commands.app import changed_tracked_files, check_clean, find_repo_root, load_app
from kwaak.errors import ConfigError, DirtyRepository, NotAGitRepository
from kwaak.logs import current_log_file, parse_log_spec, reset_logging, setup_logging
from tests.conftest import git


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in ("", "kwaak", "kwaak.agent")}
    yield
    reset_logging()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, (logging.WARNING, {})),
        ("debug", (logging.DEBUG, {})),
        ("kwaak.agent=debug,info", (logging.INFO, {"kwaak.agent": logging.DEBUG})),
        (" httpx = error , kwaak=trace ", (logging.WARNING, {"httpx": logging.ERROR, "kwaak": logging.DEBUG})),
    ],
)
def test_parse_log_spec(spec: str | None, expected: tuple[int, dict[str, int]]) -> None:
    assert parse_log_spec(spec) == expected


def test_bad_level() -> None:
    with pytest.raises(ConfigError, match="unknown log level 'chatty'"):
        parse_log_spec("kwaak=chatty")


def test_log_file_levels_and_redaction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = setup_logging(tmp_path / "logs", "proj", spec="kwaak.agent=debug,warning", secrets=["sk-redact-me-1234"])
    assert current_log_file() == path == tmp_path / "logs" / "proj.log"
    logging.getLogger("kwaak.agent").debug("agent detail with key %s", "sk-redact-me-1234")
    logging.getLogger("kwaak.other").info("hidden info")
    try:
        raise ValueError("failure mentioning sk-redact-me-1234")
    except ValueError:
        logging.getLogger("kwaak.other").exception("boom")
    text = path.read_text()
    assert "agent detail with key ****" in text
    assert "hidden info" not in text
    assert "ValueError: failure mentioning ****" in text
    assert "sk-redact-me-1234" not in text
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_setup_twice_replaces_the_handler(tmp_path: Path) -> None:
    setup_logging(tmp_path / "a", "p")
    setup_logging(tmp_path / "b", "p")
    assert current_log_file() == tmp_path / "b" / "p.log"
    assert sum(1 for h in logging.getLogger().handlers if h.__class__.__name__ == "KwaakFileHandler") == 1


def test_find_repo_root(tmp_git_repo: Path, tmp_path: Path) -> None:
    assert find_repo_root(tmp_git_repo / "src") == tmp_git_repo
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(NotAGitRepository) as info:
        find_repo_root(outside)
    assert "git init" in (info.value.hint or "")


def test_changed_tracked_files(tmp_git_repo: Path) -> None:
    assert changed_tracked_files(tmp_git_repo) == []
    git(tmp_git_repo, "mv", "hello.txt", "renamed file.txt")
    (tmp_git_repo / "new.txt").write_text("untracked")
    (tmp_git_repo / "src" / "calc.py").write_text("changed")
    assert changed_tracked_files(tmp_git_repo) == ["renamed file.txt", "src/calc.py"]
    with pytest.raises(DirtyRepository, match="renamed file.txt, src/calc.py"):
        check_clean(tmp_git_repo)


def test_load_app_creates_dirs_and_honours_flags(tmp_git_repo: Path) -> None:
    cache, logs = tmp_git_repo.parent / "c", tmp_git_repo.parent / "l"
    (tmp_git_repo / "kwaak.toml").write_text(
        f'language = "python"\ncache_dir = "{cache}"\nlog_dir = "{logs}"\n'
        '[llm.indexing]\nprovider = "Scripted"\n[llm.query]\nprovider = "Scripted"\n'
        '[llm.embedding]\nprovider = "Scripted"\n'
    )
    (tmp_git_repo / "hello.txt").write_text("dirty")
    with pytest.raises(DirtyRepository):
        load_app(None, skip_indexing=False, allow_dirty=False, require_clean=True, cwd=tmp_git_repo)
    app = load_app(None, skip_indexing=True, allow_dirty=True, require_clean=True, cwd=tmp_git_repo / "src")
    assert (app.repo_root, app.skip_indexing, app.allow_dirty) == (tmp_git_repo, True, True)
    assert cache.is_dir() and logs.is_dir()
    assert app.log_file == logs / "repo.log"
