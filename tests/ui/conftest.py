"""Fixtures for TUI tests: the real app on a real Backend with scripted models in a temp repo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kwaak.backend import Backend, Models
from kwaak.config import Config
from kwaak.llm.base import Model
from kwaak.llm.testing import ScriptedModel
from kwaak.ui import KwaakApp
from kwaak.ui.logs import UILogHandler
from tests.ui.helpers import session_ids

AppFactory = Callable[..., tuple[KwaakApp, Backend]]


@pytest.fixture
async def make_app(make_config: Callable[..., Config], tmp_git_repo: Path) -> AsyncIterator[AppFactory]:
    """Build apps on real backends; the backends are closed at the end of the test."""
    backends: list[Backend] = []

    def factory(
        query: Model | None = None,
        *,
        indexing: Model | None = None,
        skip_indexing: bool = True,
        max_entries: int = 200,
        **overrides: Any,
    ) -> tuple[KwaakApp, Backend]:
        config = make_config(**overrides)
        models = Models(
            indexing=indexing or ScriptedModel(prompt_reply="Fix the calculator"),
            query=query or ScriptedModel(),
        )
        backend = Backend(config, tmp_git_repo, models=models)
        backends.append(backend)
        ids = session_ids()
        app = KwaakApp(
            lambda: backend,
            skip_indexing=skip_indexing,
            version="0.0.0-test",
            new_session_id=lambda: next(ids),
            max_entries=max_entries,
            log_handler=UILogHandler(),
        )
        return app, backend

    yield factory
    for backend in backends:
        await backend.aclose()
