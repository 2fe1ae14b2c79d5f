"""Fixtures for provider tests: a live fake provider server and fast backoff settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kwaak.config.model import BackoffConfig
from tests.fakes.provider_server import FakeProviderServer


@pytest.fixture
def provider_server() -> Iterator[FakeProviderServer]:
    """A fake OpenAI/Azure/OpenRouter/Anthropic server on 127.0.0.1 (empty script)."""
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def fast_backoff() -> BackoffConfig:
    """Backoff with tiny intervals so retry tests run in milliseconds."""
    return BackoffConfig(initial_interval_sec=0.01, multiplier=2.0, randomization_factor=0.0, max_elapsed_time_sec=2.0)


@pytest.fixture
def no_retry() -> BackoffConfig:
    """Backoff that never retries (to observe a single mapped error)."""
    return BackoffConfig(initial_interval_sec=0.01, multiplier=1.0, randomization_factor=0.0, max_elapsed_time_sec=0)
