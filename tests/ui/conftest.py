"""Fixtures for TUI tests: the real app on a real Backend with scripted models in a temp repo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kwaak.backend import Backend, Models
from kwaak.config import Config
from kwaak.llm.base import Embedder, Model
from kwaak.llm.testing import ScriptedModel
from kwaak.ui import KwaakApp
from kwaak.ui.logs import UILogHandler
from tests.ui.helpers import session_ids

AppFactory = Callable[..., tuple[KwaakApp, Backend]]


def build_app(
    config: Config,
    repo: Path,
    query: Model | None = None,
    *,
    indexing: Model | None = None,
    embedder: Embedder | None = None,
    skip_indexing: bool = True,
    max_entries: int = 200,
    connect: Callable[[], Awaitable[Any]] | None = None,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> tuple[KwaakApp, Backend]:
    """A KwaakApp on a real Backend with scripted models and deterministic session ids.

    ``connect`` replaces the default (which returns the backend at once); ``environ`` is the
    terminal's environment the app sees (a plain xterm by default); ``options`` go to the app.
    """
    models = Models(
        indexing=indexing or ScriptedModel(prompt_reply="Fix the calculator"),
        query=query or ScriptedModel(),
        embedder=embedder,
    )
    backend = Backend(config, repo, models=models)
    ids = session_ids()

    async def connect_now() -> Backend:
        return backend

    app = KwaakApp(
        connect or connect_now,
        skip_indexing=skip_indexing,
        version="0.0.0-test",
        new_session_id=lambda: next(ids),
        max_entries=max_entries,
        log_handler=UILogHandler(),
        environ={"TERM": "xterm-256color"} if environ is None else environ,
        **options,
    )
    return app, backend


@pytest.fixture
async def make_app(make_config: Callable[..., Config], tmp_git_repo: Path) -> AsyncIterator[AppFactory]:
    """Build apps on real backends; the backends are closed at the end of the test."""
    backends: list[Backend] = []

    def factory(
        query: Model | None = None,
        *,
        indexing: Model | None = None,
        embedder: Embedder | None = None,
        skip_indexing: bool = True,
        max_entries: int = 200,
        app_options: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> tuple[KwaakApp, Backend]:
        app, backend = build_app(
            make_config(**overrides),
            tmp_git_repo,
            query,
            indexing=indexing,
            embedder=embedder,
            skip_indexing=skip_indexing,
            max_entries=max_entries,
            **(app_options or {}),
        )
        backends.append(backend)
        return app, backend

    yield factory
    for backend in backends:
        await backend.aclose()


@pytest.fixture
def make_sync_app(make_config: Callable[..., Config], tmp_git_repo: Path) -> AppFactory:
    """Build apps for snapshot tests (the app closes its backend when it exits)."""

    def factory(
        query: Model | None = None,
        *,
        skip_indexing: bool = True,
        connect: Callable[[], Awaitable[Any]] | None = None,
        app_options: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> tuple[KwaakApp, Backend]:
        # The health check names this machine's interpreters: not for snapshots.
        overrides.setdefault("workspace", {"health_check": False})
        return build_app(
            make_config(**overrides),
            tmp_git_repo,
            query,
            skip_indexing=skip_indexing,
            connect=connect,
            **(app_options or {}),
        )

    return factory
