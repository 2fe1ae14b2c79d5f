"""Fixtures: fake GitHub, Tavily and web servers on 127.0.0.1, and configs pointing at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kwaak.config import Config
from kwaak.git.github import GitHubClient
from tests.fakes.github_server import FakeGitHub
from tests.fakes.tavily_server import FakeTavily
from tests.fakes.web_server import FakeWebServer

GITHUB_TOKEN = "ghp_SENTINEL_token_4f9a1c"
TAVILY_KEY = "tvly-SENTINEL-key-7b2d"


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A fake GitHub API for ``acme/widgets`` accepting :data:`GITHUB_TOKEN`."""
    with FakeGitHub(token=GITHUB_TOKEN, owner="acme", repo="widgets") as server:
        yield server


@pytest.fixture
def fake_tavily() -> Iterator[FakeTavily]:
    """A fake Tavily API accepting :data:`TAVILY_KEY`."""
    with FakeTavily(api_key=TAVILY_KEY) as server:
        yield server


@pytest.fixture
def fake_web() -> Iterator[FakeWebServer]:
    """A small web site (HTML, redirect, huge page, JSON, text, binary, errors)."""
    with FakeWebServer() as server:
        yield server


@pytest.fixture
def github_config(
    make_config: Callable[..., Config], fake_github: FakeGitHub, fake_tavily: FakeTavily
) -> Callable[..., Config]:
    """Build a config wired to the fake servers (token, owner/repo, base URLs); overrides apply on top."""

    def factory(**overrides: Any) -> Config:
        settings: dict[str, Any] = {
            "github_api_key": f"text:{GITHUB_TOKEN}",
            "tavily_api_key": f"text:{TAVILY_KEY}",
            "git": {"owner": "acme", "repository": "widgets", "main_branch": "main"},
            "github": {"api_base_url": fake_github.url},
            "tavily": {"base_url": fake_tavily.url},
        }
        for key, value in overrides.items():
            base = settings.get(key)
            settings[key] = {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
        return make_config(**settings)

    return factory


@pytest.fixture
async def github_client(fake_github: FakeGitHub) -> Any:
    """A client for the fake server, closed after the test."""
    async with GitHubClient(token=GITHUB_TOKEN, owner="acme", repo="widgets", base_url=fake_github.url) as client:
        yield client


@pytest.fixture
def remote_path(tmp_git_repo: Path) -> Path:
    """The bare ``origin`` of ``tmp_git_repo``."""
    return tmp_git_repo.parent / "remote.git"
