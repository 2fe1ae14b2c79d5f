"""What ``kwaak init`` proposes for ``[workspace] setup``, and whether proposed commands can run.

Setup makes each agent's worktree usable on its own: Python gets a virtualenv *in the worktree*
(``.venv``, which kwaak then activates for the agent, so tests import the worktree and not an
editable install of the user's checkout), Node gets ``node_modules`` from the lock file, Rust and
Go need nothing (their build tools fetch into shared caches).

A proposed command whose program is not installed (``ruff`` when it is not on PATH and not among
the project's declared dependencies that setup installs) is flagged, so ``kwaak init`` does not
write a lint step that fails after every change.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

Which = Callable[[str], str | None]
_SEGMENT = re.compile(r"&&|\|\||[;|]")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_RUNNERS = {"uv": "run", "poetry": "run", "pdm": "run", "hatch": "run", "npx": "", "bundle": "exec", "pnpm": "exec"}
_BUILTINS = frozenset({"cd", "export", "test", "true", "false", "echo", "set", "[", ".", "source", "exit"})
_DEV_EXTRAS = ("dev", "test", "tests", "testing")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _pyproject(root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read(root / "pyproject.toml"))
    except tomllib.TOMLDecodeError:
        return {}


def _python_setup(root: Path, which: Which) -> tuple[str, ...]:
    if (root / "uv.lock").is_file():
        return ("uv sync",)
    if (root / "poetry.lock").is_file():
        return ("POETRY_VIRTUALENVS_IN_PROJECT=true poetry install",)
    venv = "uv venv --quiet .venv" if which("uv") else "python3 -m venv .venv"
    pip = "uv pip install --quiet" if which("uv") else ".venv/bin/python -m pip install --quiet"
    if any((root / name).is_file() for name in ("pyproject.toml", "setup.py", "setup.cfg")):
        extras = _pyproject(root).get("project", {}).get("optional-dependencies", {})
        extra = next((name for name in _DEV_EXTRAS if name in extras), None)
        spec = f".[{extra}]" if extra else "."
        return (f"{venv} && {pip} -e {shlex.quote(spec)}",)
    requirements = [n for n in ("requirements.txt", "requirements-dev.txt") if (root / n).is_file()]
    if requirements:
        return (f"{venv} && {pip} " + " ".join(f"-r {n}" for n in requirements),)
    return ()


def _node_setup(root: Path) -> tuple[str, ...]:
    if (root / "pnpm-lock.yaml").is_file():
        return ("pnpm install --frozen-lockfile",)
    if (root / "yarn.lock").is_file():
        return ("yarn install --frozen-lockfile",)
    if (root / "package-lock.json").is_file():
        return ("npm ci",)
    return ("npm install",) if (root / "package.json").is_file() else ()


def detect_setup(root: Path, language: str, *, which: Which = shutil.which) -> tuple[str, ...]:
    """``[workspace] setup`` for the primary ``language`` (empty when nothing is needed)."""
    if language == "Python":
        return _python_setup(root, which)
    if language in ("Javascript", "Typescript"):
        return _node_setup(root)
    if language == "Ruby" and (root / "Gemfile").is_file():
        return ("bundle install",)
    return ()


def programs(command: str) -> list[str]:
    """The programs a shell command line starts (``uv run ruff check`` → ``uv``, ``ruff``)."""
    found: list[str] = []
    for segment in _SEGMENT.split(command):
        try:
            words = shlex.split(segment)
        except ValueError:
            words = segment.split()
        words = [w for w in words if not _ASSIGNMENT.match(w)]
        if not words or words[0] in _BUILTINS or words[0].startswith(("(", "{", "$")):
            continue
        found.append(words[0])
        verb = _RUNNERS.get(Path(words[0]).name)
        rest = words[1:]
        if verb and rest[:1] == [verb]:
            rest = rest[1:]
        if verb is not None and rest and not rest[0].startswith("-"):
            found.append(rest[0])
    return found


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", spec.strip(), maxsplit=1)[0].lower()


def declared_dependencies(root: Path) -> set[str]:
    """Names of the project's declared dependencies (what a setup that installs the project brings)."""
    names: set[str] = set()
    project = _pyproject(root)
    specs = list(project.get("project", {}).get("dependencies", []))
    for group in (project.get("project", {}).get("optional-dependencies", {}), project.get("dependency-groups", {})):
        for values in group.values():
            specs += [v for v in values if isinstance(v, str)]
    poetry = project.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [g.get("dependencies", {}) for g in poetry.get("group", {}).values() if isinstance(g, dict)]
    names.update(str(key).lower() for table in tables for key in table)
    for name in ("requirements.txt", "requirements-dev.txt"):
        specs += [line for line in _read(root / name).splitlines() if line.strip() and not line.startswith(("#", "-"))]
    names.update(_requirement_name(spec) for spec in specs)
    try:
        package = json.loads(_read(root / "package.json") or "{}")
    except json.JSONDecodeError:
        package = {}
    if isinstance(package, dict):
        for key in ("dependencies", "devDependencies"):
            names.update(str(name).lower() for name in package.get(key, {}) or {})
    return names - {""}


def missing_program(
    command: str, root: Path, *, setup: tuple[str, ...] = (), which: Which = shutil.which
) -> str | None:
    """The first program of ``command`` that cannot run here, or ``None``.

    A program counts as available when it is on PATH, is a script of the repository (``./gradlew``),
    or is declared as a dependency of the project while ``setup`` installs the project's dependencies.
    """
    declared = declared_dependencies(root) if setup else set()
    for program in programs(command):
        if "/" in program:
            if (root / program).is_file():
                continue
            return program
        if which(program) or program.lower() in declared:
            continue
        return program
    return None
