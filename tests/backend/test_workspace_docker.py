"""The same worktree environment under docker: `setup` installs the project inside the agent's container.

`kwaak-test-base` has no Python, and docker builds here are offline, so the test image copies the
host's Debian ``python3.11`` (standard library and the pip/setuptools wheels ``ensurepip`` uses)
into an image built ``FROM kwaak-test-base``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.backend.pyproject_fixture import make_project
from tests.backend.test_workspace_env_cli import outputs, run_agent, system_lines
from tests.executors.conftest import TEST_IMAGE, docker_ok  # noqa: F401 (fixture)
from tests.scripted import tool

PYTHON = Path("/usr/bin/python3.11")
DOCKERFILE = f"""\
FROM {TEST_IMAGE}
COPY usr/ /usr/
RUN ln -sf python3.11 /usr/bin/python3
"""


def python_image_context(tmp_path: Path) -> Path:
    """A build context with Debian's python3.11; skips when the host has none to copy."""
    if not (
        PYTHON.is_file() and Path("/usr/lib/python3.11/venv").is_dir() and Path("/usr/share/python-wheels").is_dir()
    ):
        pytest.skip("DOCKER PYTHON TEST SKIPPED: needs Debian's python3.11 and python3.11-venv on the host")
    context = tmp_path / "image"
    (context / "usr" / "bin").mkdir(parents=True)
    shutil.copy2(PYTHON, context / "usr" / "bin" / "python3.11")
    ignore = shutil.ignore_patterns("__pycache__", "test", "idlelib", "tkinter", "lib2to3")
    shutil.copytree("/usr/lib/python3.11", context / "usr" / "lib" / "python3.11", ignore=ignore, symlinks=True)
    shutil.copytree("/usr/share/python-wheels", context / "usr" / "share" / "python-wheels")
    (context / "Dockerfile").write_text(DOCKERFILE)
    return context


@pytest.mark.usefixtures("docker_ok")
def test_setup_installs_into_the_container_and_tests_pass_in_the_worktree(tmp_git_repo: Path, tmp_path: Path) -> None:
    repo = tmp_git_repo
    make_project(repo)
    context = python_image_context(tmp_path)
    script = [
        tool("run_tests"),
        tool("shell_command", cmd="sed -i 's/a - b/a + b/' src/calc/__init__.py"),
        tool("run_tests"),
        tool("shell_command", cmd='cat .env; echo "VENV=$VIRTUAL_ENV PIP=$PIP_CACHE_DIR"; cat .venv/pyvenv.cfg'),
        tool("stop", text="fixed"),
    ]
    tables = f'[docker]\ndockerfile = "{context / "Dockerfile"}"\ncontext = "{context}"\n'
    workspace = (
        'copy = [".env"]\nsetup = ["python3 -m venv .venv", ".venv/bin/python setup.py -q develop 2>&1 | tail -n 3"]\n'
    )
    test = "python3 -m unittest discover -s tests"
    events = run_agent(repo, None, script, workspace, executor="docker", test=test, tables=tables)

    setup = outputs(events, "workspace_setup")
    assert [s["ok"] for s in setup] == [True, True], setup
    first, second = (e["output"] for e in outputs(events, "run_tests"))
    assert "FAILED (failures=1)" in first
    assert "Ran 1 test" in second and "\nOK" in second, second
    assert (repo / "src" / "calc" / "__init__.py").read_text().count("a - b") == 1
    health = next(t for t in system_lines(events) if t.startswith("Workspace: "))
    assert "python3 → /app/.venv/bin/python3" in health and "imports calc from the worktree" in health
    probe = outputs(events, "shell_command")[-1]["output"]
    assert "SECRET_FLAG=from-dotenv" in probe
    assert "VENV=/app/.venv PIP=/kwaak-cache/pip" in probe
    assert "home = /usr/bin" in probe  # the venv was made by the container's python, not the host's
    volumes = subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True).stdout
    assert "kwaak-calc-cache" in volumes.split()
