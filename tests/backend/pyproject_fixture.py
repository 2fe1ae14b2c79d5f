"""A src/-layout Python project with a bug, editable-installed into a virtualenv outside it.

This is the most common Python setup (``pip install -e .`` in a venv on PATH): without kwaak's
worktree environment, an agent's tests import the user's checkout instead of its worktree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import git

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "calc"
version = "0.1"

[tool.setuptools.packages.find]
where = ["src"]
"""
BUGGY = "def add(a, b):\n    return a - b\n"
TEST = """\
import unittest

from calc import add


class TestAdd(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)
"""
DOTENV = "SECRET_FLAG=from-dotenv\n"


def make_project(repo: Path) -> None:
    """Turn ``repo`` (a git repo) into the buggy ``calc`` project, committed; ``.env`` stays untracked."""
    (repo / "src" / "calc").mkdir(parents=True)
    (repo / "src" / "calc" / "__init__.py").write_text(BUGGY)
    (repo / "tests").mkdir(exist_ok=True)
    (repo / "tests" / "test_calc.py").write_text(TEST)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / "setup.py").write_text("from setuptools import setup\n\nsetup()\n")
    (repo / ".gitignore").write_text(".env\n.venv/\n*.egg-info/\n__pycache__/\n.pytest_cache/\n")
    (repo / ".env").write_text(DOTENV)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "calc project")


def base_python() -> str:
    """An interpreter with pytest and setuptools that is not kwaak's virtualenv."""
    return str((Path(sys.base_prefix) / "bin" / "python3").resolve())


def editable_venv(repo: Path, venv: Path) -> Path:
    """A venv (seeing the base interpreter's pytest) with ``repo`` installed in development mode.

    ``setup.py develop`` writes ``easy-install.pth`` pointing at ``repo/src``: an editable install
    that needs no network and no wheel package.
    """
    subprocess.run([base_python(), "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "setup.py", "-q", "develop"],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    return venv


def user_env(venv: Path) -> dict[str, str]:
    """The user's shell: their venv activated, and kwaak's own venv on PATH too (like `uv run kwaak`)."""
    kwaak_bin = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join([str(venv / "bin"), kwaak_bin, os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "VIRTUAL_ENV": str(venv)}


def checkout_tests_pass(repo: Path, venv: Path) -> bool:
    """Whether the user's own checkout passes its tests with the user's venv."""
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0


IN_TREE_PYPROJECT = """\
[build-system]
requires = []
build-backend = "editable_backend"
backend-path = ["_build"]

[project]
name = "calc"
version = "0.1"
"""
IN_TREE_BACKEND = '''\
"""A PEP 660 backend in the project itself: editable installs need no network and no setuptools."""
import base64, hashlib, os, zipfile

DIST = "calc-0.1.dist-info"


def _line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    files = {
        "__editable__.calc.pth": (os.path.join(os.getcwd(), "src") + "\\n").encode(),
        DIST + "/METADATA": b"Metadata-Version: 2.1\\nName: calc\\nVersion: 0.1\\n",
        DIST + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    name = "calc-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        record = [_line(path, data) for path, data in files.items()] + [DIST + "/RECORD,,"]
        wheel.writestr(DIST + "/RECORD", "\\n".join(record) + "\\n")
    return name
'''


def use_in_tree_backend(repo: Path) -> None:
    """Make the committed project installable offline by pip (``pip install -e .``) in a fresh venv."""
    (repo / "setup.py").unlink()
    (repo / "pyproject.toml").write_text(IN_TREE_PYPROJECT)
    (repo / "_build").mkdir()
    (repo / "_build" / "editable_backend.py").write_text(IN_TREE_BACKEND)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "in-tree build backend")
