"""Shared by ``bench_index.py`` and ``retrieval_eval/run_eval.py``: a real code tree in a git repo.

The tree is CPython's standard library (``Lib/`` of the interpreter, without ``site-packages``),
copied into a temporary git repository so that kwaak's file selection (``git ls-files``) applies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from kwaak.config import Config, validate_config

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "b@x",
}


def stdlib_dir() -> Path:
    """The running interpreter's ``Lib`` directory (e.g. ``~/.pyenv/versions/3.11.7/lib/python3.11``)."""
    return Path(sysconfig.get_paths()["stdlib"])


def git(repo: Path, *args: str) -> None:
    """Run git quietly."""
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def make_repo(dest: Path, source: Path | None = None) -> Path:
    """Copy ``source`` (default: the stdlib) to ``dest/repo/Lib`` and commit it; returns the repo."""
    source = source or stdlib_dir()
    repo = dest / "repo"
    if (repo / ".git").exists():
        return repo
    ignore = shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc")
    shutil.copytree(source, repo / "Lib", ignore=ignore, symlinks=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "stdlib")
    return repo


def make_config(repo: Path, cache: Path, **overrides: Any) -> Config:
    """A Scripted (offline) config for ``repo`` with the index in ``cache``."""
    data: dict[str, Any] = {
        "project_name": "stdlib",
        "language": "python",
        "llm": {role: {"provider": "Scripted"} for role in ("indexing", "query", "embedding")},
        "commands": {},
        "git": {"main_branch": "main"},
        "tool_executor": "local",
        "cache_dir": str(cache),
        "log_dir": str(cache.parent / "logs"),
        **overrides,
    }
    return validate_config(data, root=repo)


def minilm_embedder() -> Any:
    """The local MiniLM embedder when the ``local-embeddings`` extra is installed, else ``None``."""
    from kwaak.config.model import FastEmbedConfig
    from kwaak.llm import make_embedder
    from kwaak.llm.embeddings import local_embeddings_available

    if not local_embeddings_available():
        print("(local MiniLM embeddings skipped: the `local-embeddings` extra or the weights are not installed)")
        return None

    return make_embedder(FastEmbedConfig(provider="Local"))
