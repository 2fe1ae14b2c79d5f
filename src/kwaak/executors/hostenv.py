"""The host environment agents' commands inherit on the local and sandbox executors.

kwaak's own virtualenv is removed from ``PATH`` and ``VIRTUAL_ENV``: started from an activated
kwaak venv (or ``uv run kwaak``), an agent's ``python3`` would otherwise be kwaak's interpreter,
without the project's dependencies ("No module named pytest"). A kwaak venv *inside* the user's
repository is the project's own venv and is kept.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def own_virtualenv() -> Path | None:
    """The virtualenv kwaak runs from, or ``None`` when it runs on a base interpreter."""
    if sys.prefix == sys.base_prefix:
        return None
    return Path(sys.prefix).resolve()


def _inside(path: str, root: Path) -> bool:
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):
        return False
    return resolved == root or root in resolved.parents


def without_own_virtualenv(
    environ: Mapping[str, str], *, repo_root: Path | None = None, venv: Path | None = None
) -> dict[str, str]:
    """``environ`` without kwaak's virtualenv on ``PATH`` and as ``VIRTUAL_ENV``.

    Args:
        environ: The environment to clean (usually ``os.environ``).
        repo_root: The user's repository; a kwaak venv inside it is the project's and stays.
        venv: kwaak's virtualenv (default: :func:`own_virtualenv`).
    """
    env = dict(environ)
    venv = venv if venv is not None else own_virtualenv()
    if venv is None or (repo_root is not None and _inside(str(venv), repo_root.resolve())):
        return env
    if "PATH" in env:
        kept = [entry for entry in env["PATH"].split(os.pathsep) if not entry or not _inside(entry, venv)]
        env["PATH"] = os.pathsep.join(kept)
    if env.get("VIRTUAL_ENV") and _inside(env["VIRTUAL_ENV"], venv):
        del env["VIRTUAL_ENV"]
        env.pop("VIRTUAL_ENV_PROMPT", None)
    return env


def _venv_home(venv: Path) -> Path | None:
    """The base interpreter's prefix a venv points at (``home = <prefix>/bin`` in ``pyvenv.cfg``)."""
    try:
        text = (venv / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return Path(value.strip()).resolve().parent
    return None


def user_virtualenvs(environ: Mapping[str, str]) -> list[Path]:
    """The user's virtualenvs the agents' commands would use (``VIRTUAL_ENV``, venv ``bin`` dirs on ``PATH``),
    with their base interpreters: the sandbox shows them read-only, since it hides ``$HOME`` and ``/tmp``.

    Only directories with a ``pyvenv.cfg`` count; ``/``, ``$HOME`` and their ancestors never do.
    """
    candidates = [environ.get("VIRTUAL_ENV", "")]
    candidates += [str(Path(entry).parent) for entry in environ.get("PATH", "").split(os.pathsep) if entry]
    home = Path(environ.get("HOME", "/nonexistent")).resolve()
    found: list[Path] = []
    for candidate in candidates:
        if not candidate or not Path(candidate).is_absolute():
            continue
        venv = Path(candidate).resolve()
        if not (venv / "pyvenv.cfg").is_file() or venv == home or venv in home.parents or venv == Path("/"):
            continue
        never = {Path("/"), Path("/usr"), Path("/usr/local"), home, *home.parents}
        for path in (venv, _venv_home(venv)):
            if path is not None and path.is_dir() and path not in found and path not in never:
                found.append(path)
    return found
