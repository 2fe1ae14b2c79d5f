"""Fixtures for the reliability suite: real Backends on real provider adapters and fake servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config import Config
from kwaak.llm import make_model
from kwaak.llm.testing import ScriptedModel
from tests.backend.conftest import Recorder, make_backend  # noqa: F401 - fixture, re-exported
from tests.executors.conftest import bwrap_ok, docker_ok  # noqa: F401 - availability fixtures, re-exported
from tests.fakes.provider_server import FakeProviderServer
from tests.index.conftest import index_config, open_index, shop_repo  # noqa: F401 - fixtures, re-exported

FAST_BACKOFF = {"initial_interval_sec": 0.01, "multiplier": 2.0, "randomization_factor": 0.0}
PROVIDERS = ("OpenAI", "Anthropic")


def provider_table(kind: str, server: FakeProviderServer, key: str = "text:sk-reliability-test") -> dict[str, Any]:
    """An ``[llm.query]`` table for ``kind`` pointing at ``server``."""
    if kind == "OpenAI":
        return {"provider": "OpenAI", "api_key": key, "base_url": server.url + "/v1", "prompt_model": "gpt-4o"}
    return {"provider": "Anthropic", "api_key": key, "base_url": server.url, "prompt_model": "claude-sonnet-4-20250514"}


@pytest.fixture
def provider_server() -> Iterator[FakeProviderServer]:
    """A validating fake OpenAI/Anthropic server on 127.0.0.1."""
    with FakeProviderServer() as server:
        yield server


WireBackend = Callable[..., tuple[Backend, Recorder]]


@pytest.fixture
async def wire_backend(
    make_config: Callable[..., Config], tmp_git_repo: Path, provider_server: FakeProviderServer
) -> AsyncIterator[WireBackend]:
    """Build a Backend whose query model is a real adapter talking to ``provider_server``.

    ``kind`` is ``OpenAI`` or ``Anthropic``; ``max_elapsed`` bounds the retries; ``timeout`` is the
    per-request HTTP timeout. The indexing model (titles, branch names) stays scripted so that the
    server's script only serves the agent's completions.
    """
    created: list[Backend] = []

    def factory(
        kind: str, *, max_elapsed: float = 1.0, timeout: float = 30.0, **overrides: Any
    ) -> tuple[Backend, Recorder]:
        config = make_config(
            llm={"query": provider_table(kind, provider_server)},
            backoff={**FAST_BACKOFF, "max_elapsed_time_sec": max_elapsed},
            **overrides,
        )
        query = make_model(config.llm.query, backoff=config.backoff, timeout=timeout)
        models = Models(indexing=ScriptedModel(prompt_reply="Reliability task"), query=query)
        backend = Backend(config, tmp_git_repo, models=models, buffer_events=False)
        recorder = Recorder()
        backend.add_listener(recorder)
        created.append(backend)
        return backend, recorder

    yield factory
    for backend in created:
        await backend.aclose()


def failures(recorder: Recorder, session_id: str) -> list[p.CommandCompleted]:
    """The failed command completions of a session."""
    return [c for c in recorder.of(p.CommandCompleted, session_id) if not c.ok]
