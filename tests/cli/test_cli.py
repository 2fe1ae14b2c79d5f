"""The CLI surface: help, version, verbs, dispatch, errors at the process boundary."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kwaak import __version__, cli
from kwaak.logs import reset_logging
from tests.cli.conftest import Kwaak, assert_one_error, run_kwaak
from tests.conftest import git

VERBS = ["tui", "init", "query", "run-agent", "index", "search", "test-tool", "list-tools", "print-config",
         "clear-cache", "batch", "demo", "sessions", "eval"]  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    import logging

    level = logging.getLogger().level
    yield
    reset_logging()
    logging.getLogger().setLevel(level)


def stand_in(monkeypatch: pytest.MonkeyPatch, module: str, behaviour: Callable[..., int] | None = None) -> list[Any]:
    """Install `kwaak.commands.<module>` with a `run` that records its arguments."""
    calls: list[Any] = []

    def run(app: Any, **options: Any) -> int:
        calls.append((app, options))
        return behaviour(app, **options) if behaviour else 0

    mod = types.ModuleType(f"kwaak.commands.{module}")
    mod.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"kwaak.commands.{module}", mod)
    return calls


def test_version(tmp_path: Path) -> None:
    proc = run_kwaak("--version", cwd=tmp_path)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"kwaak {__version__}")


def test_help_lists_every_verb(tmp_path: Path) -> None:
    proc = run_kwaak("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "Run a team of autonomous agents on your code, right from your terminal" in proc.stdout
    commands = proc.stdout.split("Commands:")[1]
    assert [line.split()[0] for line in commands.strip().splitlines()] == VERBS
    for flag in ("--config-path", "--skip-indexing", "--allow-dirty", "--version"):
        assert flag in proc.stdout


@pytest.mark.parametrize(
    "argv", [[v, "--help"] for v in VERBS] + [["eval", e, "--help"] for e in ("patch", "ragas", "swe-bench")]
)
def test_every_verb_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(argv) == 0
    assert "Usage: kwaak" in capsys.readouterr().out


def test_cli_module_imports_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import sys, kwaak.cli;"
        "heavy = {'pydantic', 'textual', 'openai', 'anthropic', 'duckdb', 'questionary', 'jinja2'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert proc.stdout.strip() == "[]"


def test_not_a_git_repository(tmp_path: Path) -> None:
    assert_one_error(run_kwaak("print-config", cwd=tmp_path), "is not inside a git repository")
    assert "git init" in run_kwaak("print-config", cwd=tmp_path).stderr


def test_missing_implementation_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(cli.UsageError) as info:
        cli.load_implementation("no_such_module_xyz", "frobnicate")
    assert info.value.message.startswith("`kwaak frobnicate` is not available yet in this build")
    assert info.value.exit_code == 2


def test_options_reach_the_implementation(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.chdir(repo / "src")  # any directory inside the repository
    search = stand_in(monkeypatch, "search_cmd")
    assert cli.run(["search", "add numbers", "-k", "3", "--json"]) == 0
    app, options = search[0]
    assert app.repo_root == repo and app.config.project_name == "cliproject"
    assert options == {"query": "add numbers", "k": 3, "files": False, "as_json": True, "explain": False}

    agent = stand_in(monkeypatch, "run_agent", lambda app, **o: 7)
    assert cli.run(["run-agent", "-i", "fix it", "--output", "jsonl", "--max-steps", "5", "-s"]) == 7
    app, options = agent[0]
    assert app.skip_indexing and not app.allow_dirty
    assert options == {
        "initial_message": "fix it",
        "output": "jsonl",
        "max_steps": 5,
        "max_cost": None,
        "timeout": None,
        "n": None,
        "models": None,
        "executors": None,
        "start_from": None,
        "model": None,
    }


def test_eval_and_sessions_dispatch(
    monkeypatch: pytest.MonkeyPatch, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    evals = stand_in(monkeypatch, "eval_cmd")
    assert cli.run(["eval", "ragas", "-q", "a?", "-q", "b?", "-o", "out.json"]) == 0
    assert evals[0][1] == {
        "which": "ragas",
        "record_ground_truth": False,
        "input": None,
        "questions": ("a?", "b?"),
        "output": Path("out.json"),
    }
    assert cli.run(["eval", "ragas", "-i", "q.txt", "-q", "a?", "-o", "o.json"]) == 2
    assert "cannot be used together" in capsys.readouterr().err

    sessions = stand_in(monkeypatch, "sessions_cmd")
    assert cli.run(["sessions"]) == 0
    assert (sessions[0][1]["action"], sessions[0][1]["session_id"]) == ("list", None)
    assert cli.run(["sessions", "resume"]) == 2
    assert "needs a session id" in capsys.readouterr().err


def test_demo_needs_no_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    demo = stand_in(monkeypatch, "demo_cmd")
    assert cli.run(["demo", "--headless"]) == 0
    assert demo == [(None, {"headless": True})]


def test_default_verb_is_tui(monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.chdir(repo)
    tui = stand_in(monkeypatch, "tui_cmd")
    assert cli.run(["--skip-indexing"]) == 0
    assert tui[0][0].skip_indexing is True


def test_internal_error_is_logged_not_dumped(
    monkeypatch: pytest.MonkeyPatch, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)

    def boom(app: Any, **options: Any) -> int:
        raise RuntimeError("kaboom-detail")

    stand_in(monkeypatch, "index_cmd", boom)
    assert cli.run(["index"]) == 1
    err = capsys.readouterr().err
    log_file = repo.parent / "logs" / "cliproject.log"
    assert f"internal error (RuntimeError), see {log_file}" in err
    assert "Traceback" not in err
    assert "kaboom-detail" in log_file.read_text() and "Traceback" in log_file.read_text()


def test_ctrl_c_exits_130_quietly(
    monkeypatch: pytest.MonkeyPatch, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)

    def interrupted(app: Any, **options: Any) -> int:
        raise KeyboardInterrupt

    stand_in(monkeypatch, "index_cmd", interrupted)
    assert cli.run(["index"]) == 130
    assert capsys.readouterr().err.strip() == ""  # click ends the ^C line, nothing more


def test_dirty_guard(monkeypatch: pytest.MonkeyPatch, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(repo)
    agent = stand_in(monkeypatch, "run_agent")
    (repo / "untracked.txt").write_text("ignored\n")
    (repo / "hello.txt").write_text("changed\n")
    (repo / "src" / "calc.py").write_text("# staged\n")
    git(repo, "add", "src/calc.py")
    assert cli.run(["run-agent", "-i", "x"]) == 2
    err = capsys.readouterr().err
    assert "uncommitted changes: hello.txt, src/calc.py" in err and "untracked" not in err
    assert "--allow-dirty" in err
    assert agent == []
    assert cli.run(["run-agent", "--allow-dirty", "-i", "x"]) == 0
    assert cli.run(["--allow-dirty", "run-agent", "-i", "x"]) == 0
    assert len(agent) == 2


def test_read_only_verbs_ignore_a_dirty_repository(kwaak: Kwaak, repo: Path) -> None:
    (repo / "hello.txt").write_text("changed\n")
    assert kwaak("print-config").returncode == 0


def test_print_config_masks_every_secret(kwaak: Kwaak, repo: Path) -> None:
    (repo / "token.txt").write_text("file-sentinel-789\n")
    secrets = (
        'github_api_key = "file:token.txt"\n'
        'tavily_api_key = "env:TAVILY_SENTINEL"\n'
        'anthropic_api_key = "text:text-sentinel-123"\n'
    )
    text = (
        (repo / "kwaak.toml")
        .read_text()
        .replace('[llm.query]\nprovider = "Scripted"', '[llm.query]\nprovider = "Anthropic"')
    )
    (repo / "kwaak.toml").write_text(secrets + text)
    proc = kwaak("print-config", env={"TAVILY_SENTINEL": "env-sentinel-456"})
    assert proc.returncode == 0, proc.stderr
    for sentinel in ("file-sentinel-789", "env-sentinel-456", "text-sentinel-123"):
        assert sentinel not in proc.stdout + proc.stderr
    assert proc.stdout.count('"ApiKey(****)"') == 4  # three root keys and the seeded llm.query key


def test_print_config_round_trips(kwaak: Kwaak, repo: Path) -> None:
    first = kwaak("print-config")
    (repo / "printed.toml").write_text(first.stdout)
    second = kwaak("print-config", "-c", "printed.toml")  # global flag after the verb
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert 'language = "Python"' in first.stdout and 'tool_executor = "local"' in first.stdout


def test_env_override_is_visible_in_print_config(kwaak: Kwaak) -> None:
    proc = kwaak("print-config", env={"KWAAK__COMMANDS__TEST": "cargo nextest run"})
    assert 'test = "cargo nextest run"' in proc.stdout


def test_clear_cache(kwaak: Kwaak, repo: Path) -> None:
    cache = repo.parent / "cache"
    (cache / "index").mkdir(parents=True)
    (cache / "index" / "duck.db3").write_text("x")
    assert_one_error(kwaak("clear-cache"), "clear-cache would delete 0 saved session(s)", code=2)  # no tty
    assert cache.exists()
    proc = kwaak("clear-cache", "--yes")
    assert proc.returncode == 0
    assert proc.stdout.startswith("Cache cleared: deleted 0 saved session(s), 0 worktree(s) and the code index")
    assert not cache.exists()
    assert kwaak("clear-cache", "--yes").returncode == 0  # nothing to clear is fine


def test_clear_cache_refuses_a_dangerous_directory(kwaak: Kwaak, repo: Path) -> None:
    text = (repo / "kwaak.toml").read_text()
    (repo / "kwaak.toml").write_text(text.replace(f'cache_dir = "{repo.parent / "cache"}"', 'cache_dir = "."'))
    proc = kwaak("clear-cache")
    assert_one_error(proc, "refusing to delete", code=1)
    assert (repo / "hello.txt").exists()


def test_log_file_and_level(kwaak: Kwaak, repo: Path) -> None:
    proc = kwaak("print-config", env={"KWAAK_LOG": "kwaak=info,warning"})
    assert proc.returncode == 0 and proc.stderr == ""
    assert "kwaak started in" in (repo.parent / "logs" / "cliproject.log").read_text()
    assert_one_error(kwaak("print-config", env={"KWAAK_LOG": "loud"}), "KWAAK_LOG: unknown log level 'loud'")
