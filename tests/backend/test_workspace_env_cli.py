"""Agents test their own code: the real `kwaak run-agent` on an editable-installed src/ project.

The user's venv (on PATH, activated) has the project installed in development mode, pointing at
the user's checkout; kwaak's own venv is on PATH too. The scripted agent runs the tests (they
fail), fixes the bug in its worktree, and runs them again: they pass there, while the user's
checkout still fails. ``.env`` (git-ignored) is copied in; ``setup`` runs and shows its output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.backend.pyproject_fixture import (
    checkout_tests_pass,
    editable_venv,
    make_project,
    use_in_tree_backend,
    user_env,
)
from tests.conftest import git
from tests.executors.conftest import bwrap_ok  # noqa: F401 (fixture)
from tests.fakes.provider_server import FakeProviderServer, Reply
from tests.scripted import json_lines, tool

TEST_CMD = "python -m pytest -q -p no:cacheprovider tests"


def _config(repo: Path, script: list[dict[str, Any]], indexing_url: str, **kw: str) -> Path:
    script_path = repo.parent / "agent.script.json"
    script_path.write_text(json.dumps(script))
    config = repo.parent / "kwaak.toml"
    config.write_text(
        f"""
project_name = "calc"
language = "python"
tool_executor = "{kw["executor"]}"
executor_fallback = false
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"
[commands]
test = "{kw["test"]}"
[git]
auto_push_remote = false
main_branch = "main"
{kw["tables"]}
[workspace]
{kw["workspace"]}
[llm.indexing]
provider = "OpenAI"
api_key = "text:sk-test"
base_url = "{indexing_url}/v1"
prompt_model = "gpt-4o-mini"
[llm.query]
provider = "Scripted"
script = "{script_path}"
[llm.embedding]
provider = "Scripted"
"""
    )
    return config


def run_agent(
    repo: Path,
    venv: Path | None,
    script: list[dict[str, Any]],
    workspace: str,
    *,
    executor: str = "local",
    test: str = TEST_CMD,
    tables: str = "",
) -> list[dict[str, Any]]:
    """`kwaak run-agent --output jsonl` in the user's shell; the indexing model answers empty text,
    so test output reaches the agent (and the events) unsummarized."""
    with FakeProviderServer() as indexing:
        indexing.enqueue(*[Reply(text="") for _ in range(40)])
        kw = {"executor": executor, "test": test, "tables": tables, "workspace": workspace}
        config = _config(repo, script, indexing.url, **kw)
        proc = subprocess.run(
            [sys.executable, "-m", "kwaak", "-c", str(config), "-s", "run-agent", "-i", "fix add", "--output", "jsonl"],
            cwd=repo,
            env=user_env(venv) if venv is not None else None,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json_lines(proc.stdout)


def outputs(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "tool_call_finished" and e["name"] == name]


def system_lines(events: list[dict[str, Any]], level: str | None = None) -> list[str]:
    return [e["text"] for e in events if e["type"] == "system_message" and (level is None or e["level"] == level)]


@pytest.fixture
def project(tmp_git_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    make_project(tmp_git_repo)
    venv = editable_venv(tmp_git_repo, tmp_path / "uservenv")
    assert not checkout_tests_pass(tmp_git_repo, venv)  # the bug is real
    return tmp_git_repo, venv


def test_agent_fixes_bug_in_worktree_while_checkout_still_fails(project: tuple[Path, Path]) -> None:
    repo, venv = project
    script = [
        tool("run_tests"),
        # A fix of another size: a same-size `sed -i` within the second of the first test run would
        # leave Python trusting the old .pyc (mtime seconds + size); kwaak's own file tools avoid that.
        tool("shell_command", cmd="sed -i 's/a - b/(a + b)/' src/calc/__init__.py"),
        tool("run_tests"),
        tool("shell_command", cmd='cat .env; echo "PATH=$PATH"; python3 -c "import calc; print(calc.__file__)"'),
        tool("stop", text="fixed"),
    ]
    events = run_agent(repo, venv, script, 'copy = [".env"]\nsetup = ["echo setting-up-the-worktree"]')

    first, second = (e["output"] for e in outputs(events, "run_tests"))
    assert "1 failed" in first
    assert "1 passed" in second, second
    assert not checkout_tests_pass(repo, venv)  # the user's checkout is untouched and still fails
    assert (repo / "src" / "calc" / "__init__.py").read_text().count("a - b") == 1

    probe = outputs(events, "shell_command")[-1]["output"]
    assert "SECRET_FLAG=from-dotenv" in probe  # `.env` was copied into the worktree
    path_line = next(line for line in probe.splitlines() if line.startswith("PATH="))
    assert str(venv / "bin") in path_line
    assert str(Path(sys.prefix) / "bin") not in path_line.split(":")  # kwaak's own venv is gone
    imported = probe.strip().splitlines()[-1]
    assert "/worktrees/" in imported and str(repo) not in imported

    setup = outputs(events, "workspace_setup")
    assert [s["ok"] for s in setup] == [True]
    assert "setting-up-the-worktree" in setup[0]["output"]
    assert any("Copied into the worktree from your checkout: .env" in t for t in system_lines(events))
    health = next(t for t in system_lines(events) if t.startswith("Workspace: "))
    assert "python3 → " + str(venv / "bin" / "python3") in health
    assert "imports calc from the worktree" in health and "PYTHONPATH puts the worktree first" in health
    assert not system_lines(events, "warning")
    # .env is ignored, so it never reaches the agent's branch
    branch = next(e["branch"] for e in events if e["type"] == "branch_renamed")
    assert ".env" not in git(repo, "ls-tree", "-r", "--name-only", branch).split()


def test_failing_setup_is_shown_and_told_to_the_agent(project: tuple[Path, Path]) -> None:
    repo, venv = project
    script = [tool("shell_command", cmd="echo working"), tool("stop", text="done")]
    setup = 'setup = ["echo before-the-failure; exit 3", "echo never-runs"]'
    events = run_agent(repo, venv, script, setup)

    (failed,) = outputs(events, "workspace_setup")
    assert failed["ok"] is False
    assert "before-the-failure" in failed["output"] and "[exit code 3]" in failed["output"]
    assert "never-runs" not in json.dumps(events)
    errors = [e for e in events if e["type"] == "system_message" and e["level"] == "error"]
    assert len(errors) == 1 and "Workspace setup failed" in errors[0]["text"] and errors[0]["hint"]
    # the agent was told: the note is in its persisted history, before it started working
    (history,) = (repo.parent / "cache" / "sessions").rglob("history.jsonl")  # under the per-repository store
    notes = [line for line in history.read_text().splitlines() if "setup command" in line]
    assert notes and "exit code 3" in notes[0]


def test_worktree_venv_made_by_setup_becomes_the_agents_python(project: tuple[Path, Path]) -> None:
    repo, venv = project
    python = str(venv / "bin" / "python")
    script = [
        tool("shell_command", cmd='echo "VENV=$VIRTUAL_ENV"; command -v python3; git status --porcelain'),
        tool("stop", text="done"),
    ]
    make_venv = f"{python} -m venv --system-site-packages --without-pip .venv"
    install = ".venv/bin/python setup.py -q develop"
    events = run_agent(repo, venv, script, f'setup = ["{make_venv}", "{install}"]')

    assert [s["ok"] for s in outputs(events, "workspace_setup")] == [True, True]
    out = outputs(events, "shell_command")[0]["output"]
    assert "/worktrees/" in out.splitlines()[0] and out.splitlines()[0].endswith("/.venv")
    assert out.splitlines()[1].endswith("/.venv/bin/python3")
    assert not out.splitlines()[2:]  # `git status` is clean: the venv is no untracked change
    health = next(t for t in system_lines(events) if t.startswith("Workspace: "))
    assert "imports calc from the worktree" in health
    assert "PYTHONPATH" not in health  # the worktree's own editable install is enough


def test_health_check_warns_when_tests_import_the_users_checkout(project: tuple[Path, Path]) -> None:
    repo, venv = project
    script = [tool("run_tests"), tool("stop", text="done")]
    events = run_agent(repo, venv, script, 'python = "off"')
    (warning,) = system_lines(events, "warning")
    assert (
        warning
        == f"Tests would import `calc` from {repo / 'src' / 'calc' / '__init__.py'}, outside the agent's worktree"
    )
    hint = next(e["hint"] for e in events if e["type"] == "system_message" and e["level"] == "warning")
    assert "[workspace] setup" in hint
    health = next(t for t in system_lines(events) if t.startswith("Workspace: "))
    assert f"python → {venv / 'bin' / 'python'}" in health and "PYTHONPATH" not in health


def test_python_venv_mode_makes_and_installs_a_worktree_venv(tmp_git_repo: Path) -> None:
    """`python = "venv"` without any setup: kwaak creates `<worktree>/.venv` and installs the project
    into it (`python3 -m venv` + pip, no uv here); the tests import the worktree through it."""
    repo = tmp_git_repo
    make_project(repo)
    use_in_tree_backend(repo)
    script = [
        tool("run_tests"),
        tool("shell_command", cmd="sed -i 's/a - b/(a + b)/' src/calc/__init__.py"),
        tool("run_tests"),
        tool("shell_command", cmd='echo "VENV=$VIRTUAL_ENV"; python -c "import calc; print(calc.__file__)"'),
        tool("stop", text="fixed"),
    ]
    workspace = 'python = "venv"\nenv = { PIP_NO_INDEX = "1", PIP_DISABLE_PIP_VERSION_CHECK = "1" }'
    events = run_agent(repo, None, script, workspace, test="python -m unittest discover -s tests")

    (install,) = outputs(events, "workspace_setup")
    assert install["ok"], install["output"]
    first, second = (e["output"] for e in outputs(events, "run_tests"))
    assert "FAILED (failures=1)" in first and "\nOK" in second
    venv_line, module = outputs(events, "shell_command")[-1]["output"].strip().splitlines()
    worktree = venv_line.removeprefix("VENV=").removesuffix("/.venv")
    assert "/worktrees/" in worktree and module == f"{worktree}/src/calc/__init__.py"
    health = next(t for t in system_lines(events) if t.startswith("Workspace: "))
    assert f"python3 → {worktree}/.venv/bin/python3" in health and "PYTHONPATH" not in health


@pytest.mark.usefixtures("bwrap_ok")
def test_sandboxed_agent_sees_the_users_venv_and_imports_its_worktree(project: tuple[Path, Path]) -> None:
    """The sandbox hides $HOME and /tmp: the user's venv is shown read-only; its editable install's
    target (the checkout) stays hidden, and the worktree's src/ is imported instead."""
    repo, venv = project
    script = [
        tool("shell_command", cmd="sed -i 's/a - b/(a + b)/' src/calc/__init__.py"),
        tool("run_tests"),
        tool("shell_command", cmd=f"ls {repo}/src 2>&1; touch {venv}/planted 2>&1; echo done"),
        tool("stop", text="fixed"),
    ]
    events = run_agent(repo, venv, script, 'copy = [".env"]', executor="sandbox")
    (result,) = (e["output"] for e in outputs(events, "run_tests"))
    assert "1 passed" in result, result
    probe = outputs(events, "shell_command")[-1]["output"]
    assert "No such file or directory" in probe and "Read-only file system" in probe  # checkout hidden, venv read-only
    assert not (venv / "planted").exists()
    health = next(t for t in system_lines(events) if t.startswith("Workspace: "))
    assert f"python → {venv / 'bin' / 'python'}" in health and "imports calc from the worktree" in health
