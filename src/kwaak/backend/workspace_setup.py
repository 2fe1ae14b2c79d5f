"""Prepare a new worktree before its agent starts: ``copy``, ``setup``, Python imports, health check.

Runs once per new (or re-created) worktree, inside the agent's executor, so a docker agent's
dependencies are installed in its container. Every ``setup`` command appears in the chat as a
``workspace_setup`` tool line with its output; a failure stops the remaining commands, is shown as
an error, and is told to the agent (the returned note goes into its history).

Python is made to import the worktree (``[workspace] python``): a ``<worktree>/.venv`` made by
``setup`` (or by kwaak with ``python = "venv"``) becomes the active virtualenv; when the worktree's
packages would still be imported from elsewhere (an editable install of the user's checkout),
the worktree's ``src/`` (or root) goes first on ``PYTHONPATH``. The health check then reports what
``python3``, ``node`` and the test program resolve to, and warns when tests would import code
from outside the worktree.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kwaak import protocol as p
from kwaak.backend.listener import PREVIEW_CHARS
from kwaak.backend.workspace_env import (
    VENV_DIR,
    BaseEnv,
    Health,
    WorkspaceExecutor,
    base_env,
    command_program,
    import_origins,
    join_path,
    outside,
    python_layout,
    venv_env,
    which,
)
from kwaak.backend.workspace_files import copy_into_worktree
from kwaak.config.model import Config
from kwaak.errors import ExecutorError
from kwaak.executors.docker import CACHE_DIR
from kwaak.git.trusted import run_tree_git
from kwaak.tools.common import truncate

SETUP_TOOL = "workspace_setup"
_VENV_INSTALL = (
    'if command -v uv >/dev/null 2>&1; then uv venv --quiet "$VIRTUAL_ENV" && uv pip install --quiet -e .; '
    'else python3 -m venv "$VIRTUAL_ENV" && "$VIRTUAL_ENV/bin/python" -m pip install --quiet -e .; fi'
)
Emit = Callable[[p.EventMsg], None]


@dataclass(kw_only=True)
class WorkspacePreparer:
    """Prepares one agent's worktree (see the module docstring)."""

    config: Config
    repo_root: Path
    worktree: Path
    executor: WorkspaceExecutor
    emit: Emit

    async def prepare(self, *, fresh: bool) -> str | None:
        """Copy files and run ``setup`` (``fresh`` worktrees only), arrange Python, check health.

        Returns:
            A note for the agent when setup failed, else ``None``.
        """
        ws = self.config.workspace
        if fresh and ws.copy_files:
            await self._copy()
        base = await base_env(self.executor.inner)
        env = self._static_env(base)
        self.executor.env = env
        note = None
        if ws.python == "venv":
            env.update(venv_env(self.executor.workdir, base))
        steps = [_VENV_INSTALL] if ws.python == "venv" and not self._has_venv() else []
        steps += list(ws.setup) if fresh else []
        if steps:
            note = await self._run_setup(steps)
        if ws.python == "auto" and self._has_venv():
            env.update(venv_env(self.executor.workdir, base))
        self._ignore_venv()
        if steps:
            await self._warn_untracked()
        env.update(ws.env)
        await self._check(base)
        return note

    def _static_env(self, base: BaseEnv) -> dict[str, str]:
        env = dict(self.config.workspace.env)
        if self.executor.kind == "docker" and self.config.docker.shared_cache and not base.cargo_home:
            env["CARGO_HOME"] = f"{CACHE_DIR}/cargo"
        return env

    def _has_venv(self) -> bool:
        return os.path.lexists(self.worktree / VENV_DIR / "bin" / "python")

    def _ignore_venv(self) -> None:
        # A venv made by `python3 -m venv` (before 3.13) has no .gitignore: keep it out of commits.
        venv = self.worktree / VENV_DIR
        if venv.is_dir() and not venv.is_symlink() and not os.path.lexists(venv / ".gitignore"):
            (venv / ".gitignore").write_text("*\n")

    async def _copy(self) -> None:
        report = await copy_into_worktree(self.repo_root, self.worktree, self.config.workspace.copy_files)
        if report.copied:
            more = len(report.copied) - 10
            shown = ", ".join(report.copied[:10]) + (f" and {more} more" if more > 0 else "")
            self.emit(p.SystemMessage(text=f"Copied into the worktree from your checkout: {shown}"))
        for rel, reason in report.skipped[:10]:
            self.emit(p.SystemMessage(text=f"Not copied: {rel}: {reason}", level="warning"))

    async def _warn_untracked(self) -> None:
        """Files setup made that git does not ignore would end up in the agent's commits: say so."""
        # hardened host git: the worktree (and its git config) is the agent's
        status = await run_tree_git(self.worktree, "status", "--porcelain", "--untracked-files=normal")
        new = [line[3:] for line in status.stdout.splitlines() if line.startswith("?? ")]
        if new:
            shown = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
            self.emit(
                p.SystemMessage(
                    text=f"Setup left files git does not ignore: {shown}; the agent's commits will include them",
                    level="warning",
                    hint="add them to .gitignore, or let setup write elsewhere",
                )
            )

    async def _run_setup(self, commands: list[str]) -> str | None:
        timeout = self.config.workspace.setup_timeout_sec
        for index, command in enumerate(commands, 1):
            call_id = f"setup-{secrets.token_hex(4)}"
            label = "creating the worktree virtualenv" if command == _VENV_INSTALL else f"`{command}`"
            self.emit(p.Activity(text=f"setting up the workspace ({index}/{len(commands)}): {label}"))
            self.emit(p.ToolCallStarted(call_id=call_id, name=SETUP_TOOL, summary=f"setting up the workspace: {label}"))
            started = time.monotonic()
            try:
                result = await self.executor.exec(command, timeout=timeout)
                output, ok, code = result.output, result.ok, result.exit_code
                status = "timed out" if result.timed_out else f"exit code {code}"
            except ExecutorError as exc:
                output, ok, status = exc.render(), False, "could not run"
            text = truncate(output.rstrip("\n"), self.config.limits.max_tool_output_chars)
            if not ok:
                text += f"\n[{status}]"
            preview = _tail(text)
            self.emit(p.ToolCallFinished(call_id=call_id, name=SETUP_TOOL, ok=ok, preview=preview, output=text))
            if not ok:
                seconds = time.monotonic() - started
                self.emit(
                    p.SystemMessage(
                        text=f"Workspace setup failed: {label} ({status} after {seconds:.0f} s)",
                        level="error",
                        hint="fix `[workspace] setup` in kwaak.toml; the agent was told and continues without it",
                    )
                )
                return (
                    f"Note from kwaak: the workspace setup command {label} failed ({status}); the project's "
                    f"dependencies may be missing in your environment. Its output ended with:\n\n{_tail(text, 2000)}"
                )
        return None

    async def _check(self, base: BaseEnv) -> None:
        health = Health()
        test = command_program(self.config.commands.test)
        programs = list(dict.fromkeys(["python3", "node", *([test] if test else [])]))
        health.resolved = await which(self.executor, programs)
        mode = self.config.workspace.python
        layout = python_layout(self.worktree)
        # The interpreter the tests use: the test command's own python (`python -m pytest`), else python3.
        python = health.resolved.get(test or "") if (test or "").startswith("python") else None
        python = python or health.resolved.get("python3")
        if layout is not None and python:
            origins = await import_origins(self.executor, python, layout.packages) or {}
            leaks = outside(origins, self.executor.workdir)
            # Not importable at all (e.g. the editable install's target is hidden by the sandbox) also
            # means the worktree's copy should come first.
            missing = [name for name, where in origins.items() if where is None]
            if mode == "pythonpath" or ((leaks or missing) and mode != "off"):
                self._prefer_worktree(layout.root, base)
                origins = await import_origins(self.executor, python, layout.packages) or origins
                health.notes.append("PYTHONPATH puts the worktree first")
            health.imports = origins
            health.leaks = outside(origins, self.executor.workdir)
        if self.config.workspace.health_check:
            self.emit(p.SystemMessage(text=health.text()))
        for name, where in health.leaks.items():
            self.emit(
                p.SystemMessage(
                    text=f"Tests would import `{name}` from {where}, outside the agent's worktree",
                    level="warning",
                    hint='install the project in the worktree with `[workspace] setup` or set `python = "pythonpath"`',
                )
            )

    def _prefer_worktree(self, root: str, base: BaseEnv) -> None:
        workdir = PurePosixPath(self.executor.workdir)
        first = str(workdir / root) if root != "." else str(workdir)
        current = self.executor.env.get("PYTHONPATH", base.pythonpath)
        self.executor.env["PYTHONPATH"] = join_path(first, current)


def _tail(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else "... " + text[-limit:]
