"""The per-worktree environment of an agent's commands, and the probes of its health check.

:class:`WorkspaceExecutor` wraps the session's executor and adds the worktree's variables to every
command: ``[workspace] env``, a worktree virtualenv (``VIRTUAL_ENV`` and its ``bin`` first on
``PATH``) and ``PYTHONPATH`` precedence for the worktree's packages. The variables are learned and
changed while the workspace is prepared (:mod:`kwaak.backend.workspace_setup`); the wrapped
executor (local, sandbox or docker) is unchanged.

The probes run *inside* the executor, so they answer for what the agent's commands will see: which
``python3``/``node``/test program resolves, and where the worktree's Python packages are imported
from.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kwaak.executors.base import ExecResult, Executor, ExecutorKind

VENV_DIR = ".venv"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_PACKAGES = 20
_PROBE_TIMEOUT = 60.0
_ENV_SCRIPT = 'printf "%s\\n%s\\n%s\\n" "$PATH" "${PYTHONPATH-}" "${CARGO_HOME-}"'
_WHICH_SCRIPT = 'for c in "$@"; do p=$(command -v "$c" 2>/dev/null) || p=; printf "%s\\t%s\\n" "$c" "$p"; done'
_FIND_SPEC = """
import importlib.util, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        spec = None
    where = None
    if spec is not None:
        where = spec.origin if spec.origin not in (None, "namespace", "built-in", "frozen") else None
        if where is None and spec.submodule_search_locations:
            where = list(spec.submodule_search_locations)[0]
    out[name] = where
print(json.dumps(out))
"""


class WorkspaceExecutor:
    """An executor whose commands get the worktree's environment on top of the wrapped one's."""

    def __init__(self, inner: Executor, env: Mapping[str, str] | None = None) -> None:
        """Wrap ``inner``; ``env`` is added to every command (a command's own ``env`` wins)."""
        self.inner = inner
        self.kind: ExecutorKind = inner.kind
        self.workdir = inner.workdir
        self.env: dict[str, str] = dict(env or {})

    def __getattr__(self, name: str) -> Any:
        # Anything else (a docker executor's container name, a sandbox's git layout) is the wrapped one's.
        return getattr(self.inner, name)

    async def exec(
        self,
        cmd: str | Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run ``cmd`` in the wrapped executor with the worktree's environment."""
        return await self.inner.exec(cmd, cwd=cwd, env={**self.env, **(env or {})}, timeout=timeout)

    async def read_file(self, path: str) -> bytes:
        """Read through the wrapped executor."""
        return await self.inner.read_file(path)

    async def write_file(self, path: str, data: bytes) -> None:
        """Write through the wrapped executor."""
        await self.inner.write_file(path, data)

    async def aclose(self) -> None:
        """Close the wrapped executor."""
        await self.inner.aclose()


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseEnv:
    """Variables of the wrapped executor that the worktree environment extends."""

    path: str
    pythonpath: str
    cargo_home: str


async def base_env(executor: Executor) -> BaseEnv:
    """``PATH``, ``PYTHONPATH`` and ``CARGO_HOME`` as the executor's commands see them."""
    result = await executor.exec(["sh", "-c", _ENV_SCRIPT], timeout=_PROBE_TIMEOUT)
    lines = [*result.output.split("\n"), "", "", ""][:3] if result.ok else ["/usr/local/bin:/usr/bin:/bin", "", ""]
    return BaseEnv(path=lines[0], pythonpath=lines[1], cargo_home=lines[2])


def join_path(*parts: str) -> str:
    """Join ``PATH``-like parts, dropping empty ones."""
    return ":".join(part for part in parts if part)


def venv_env(workdir: str, base: BaseEnv) -> dict[str, str]:
    """Variables that make ``<workdir>/.venv`` the active virtualenv (for pip, uv and poetry too)."""
    venv = str(PurePosixPath(workdir) / VENV_DIR)
    return {
        "VIRTUAL_ENV": venv,
        "UV_PROJECT_ENVIRONMENT": venv,
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
        "PATH": join_path(f"{venv}/bin", base.path),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class PythonLayout:
    """The worktree's own top-level Python packages and the directory they are imported from."""

    root: str
    """``src`` for a src/ layout, ``.`` for a flat one (relative to the worktree)."""
    packages: tuple[str, ...]


def python_layout(worktree: Path) -> PythonLayout | None:
    """The worktree's importable packages (``src/<pkg>`` or ``<pkg>/__init__.py`` at the top), if any."""
    if not any((worktree / name).is_file() for name in ("pyproject.toml", "setup.py", "setup.cfg")):
        return None
    src = worktree / "src"
    base, root = (src, "src") if src.is_dir() and not src.is_symlink() else (worktree, ".")
    names: list[str] = []
    try:
        entries = sorted(base.iterdir())
    except OSError:
        return None
    for entry in entries:
        name = entry.stem if entry.suffix == ".py" else entry.name
        is_package = entry.is_dir() and (entry / "__init__.py").is_file()
        is_module = root == "src" and entry.is_file() and entry.suffix == ".py"
        if (is_package or is_module) and _IDENTIFIER.match(name) and name not in ("tests", "test", "setup", "conftest"):
            names.append(name)
    return PythonLayout(root=root, packages=tuple(names[:_MAX_PACKAGES])) if names else None


async def which(executor: Executor, programs: Sequence[str]) -> dict[str, str | None]:
    """Where each program resolves on the executor's ``PATH`` (``None``: not found)."""
    result = await executor.exec(["sh", "-c", _WHICH_SCRIPT, "sh", *programs], timeout=_PROBE_TIMEOUT)
    found: dict[str, str | None] = dict.fromkeys(programs)
    for line in result.output.splitlines():
        name, _, where = line.partition("\t")
        if name in found:
            found[name] = where.strip() or None
    return found


async def import_origins(executor: Executor, python: str, packages: Sequence[str]) -> dict[str, str | None] | None:
    """Where ``python`` imports each package from, run in the worktree; ``None`` if the probe failed."""
    result = await executor.exec([python, "-c", _FIND_SPEC, *packages], timeout=_PROBE_TIMEOUT)
    if not result.ok:
        return None
    last = result.output.strip().splitlines()[-1:] or [""]
    try:
        data = json.loads(last[0])
    except json.JSONDecodeError:
        return None
    return {name: (str(data[name]) if data.get(name) else None) for name in packages if name in data}


def outside(origins: Mapping[str, str | None], workdir: str) -> dict[str, str]:
    """The packages imported from somewhere outside ``workdir`` (found but not in the worktree)."""
    root = PurePosixPath(workdir)
    return {
        name: where
        for name, where in origins.items()
        if where is not None and not (PurePosixPath(where) == root or root in PurePosixPath(where).parents)
    }


def command_program(command: str | None) -> str | None:
    """The program a test command starts (``uv run pytest`` → ``uv``), for the health check."""
    if not command:
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    words = [w for w in words if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
    return words[0] if words and not words[0].startswith(("(", "{")) else None


@dataclass(slots=True)
class Health:
    """The health check's findings, rendered into one chat line."""

    resolved: dict[str, str | None] = field(default_factory=dict)
    imports: dict[str, str | None] = field(default_factory=dict)
    leaks: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """``Workspace: python3 → … · node → not found · pytest → … · imports mypkg from the worktree``."""
        parts = [f"{name} → {where or 'not found'}" for name, where in self.resolved.items()]
        inside = [name for name, where in self.imports.items() if where is not None and name not in self.leaks]
        if inside:
            parts.append(f"imports {', '.join(inside)} from the worktree")
        parts += self.notes
        return "Workspace: " + " · ".join(parts)
