"""Fixtures for engine tests: a real Backend on a temp repo with scripted models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config import Config
from kwaak.llm.base import Model
from kwaak.llm.testing import ScriptedModel

BackendFactory = Callable[..., Backend]


class Recorder:
    """Collects every event (a listener)."""

    def __init__(self) -> None:
        self.events: list[p.Event] = []

    def __call__(self, event: p.Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Any], session_id: str | None = None) -> list[Any]:
        return [
            e.msg for e in self.events if isinstance(e.msg, kind) and (session_id is None or e.session_id == session_id)
        ]

    def kinds(self, session_id: str) -> list[str]:
        return [e.msg.kind for e in self.events if e.session_id == session_id]


@pytest.fixture
async def make_backend(
    make_config: Callable[..., Config], tmp_git_repo: Path
) -> AsyncIterator[Callable[..., tuple[Backend, Recorder]]]:
    """Build backends; they are closed at the end of the test."""
    created: list[Backend] = []

    def factory(query: Model, *, indexing: Model | None = None, **overrides: Any) -> tuple[Backend, Recorder]:
        config = make_config(**overrides)
        models = Models(indexing=indexing or ScriptedModel(prompt_reply="Fix the calculator"), query=query)
        backend = Backend(config, tmp_git_repo, models=models, buffer_events=False)
        recorder = Recorder()
        backend.add_listener(recorder)
        created.append(backend)
        return backend, recorder

    yield factory
    for backend in created:
        await backend.aclose()
