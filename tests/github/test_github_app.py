"""GitHub App authentication against the fake GitHub: app id + private key → JWT → installation token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kwaak.config import Config
from kwaak.errors import ConfigError, GitHubError
from kwaak.git.github import GitHubClient
from kwaak.git.github_app import app_jwt, forget_tokens, github_token
from tests.fakes.github_server import FakeGitHub
from tests.github.conftest import GITHUB_TOKEN

APP_ID = 98765


def _key() -> tuple[str, object]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, private.public_key()


@pytest.fixture
def app_key(fake_github: FakeGitHub, tmp_path: Path) -> Iterator[Path]:
    """The app's private key in a .pem file; the fake GitHub knows its public key."""
    pem, public = _key()
    path = tmp_path / "app.pem"
    path.write_text(pem)
    fake_github.enable_app(APP_ID, public)
    forget_tokens()
    yield path
    forget_tokens()


def _app_config(github_config: Callable[..., Config], fake_github: FakeGitHub, key: Path, **github: object) -> Config:
    return github_config(
        github_api_key=None,
        github={"api_base_url": fake_github.url, "app_id": APP_ID, "app_private_key": f"file:{key}", **github},
    )


async def test_app_token_opens_pull_requests_and_is_reused(
    github_config: Callable[..., Config], fake_github: FakeGitHub, app_key: Path
) -> None:
    config = _app_config(github_config, fake_github, app_key)
    assert config.github_enabled()
    fake_github.add_issue(7, "Seven")
    async with GitHubClient.from_config(config) as gh:
        assert (await gh.get_issue(7)).title == "Seven"
        assert await gh.find_pull_request("kwaak/none") is None
    assert await github_token(config) == "ghs_installation_4242"  # what `git push` gets
    assert fake_github.tokens_issued == 1, "the installation token is cached until shortly before it expires"
    assert [r.path for r in fake_github.requests][:2] == [
        "/repos/acme/widgets/installation",
        "/app/installations/4242/access_tokens",
    ]


async def test_installation_id_skips_the_lookup(
    github_config: Callable[..., Config], fake_github: FakeGitHub, app_key: Path
) -> None:
    config = _app_config(github_config, fake_github, app_key, installation_id=4242)
    assert await github_token(config) == "ghs_installation_4242"
    assert not fake_github.requests_to("GET", "/installation")


async def test_a_personal_token_wins(
    github_config: Callable[..., Config], fake_github: FakeGitHub, app_key: Path
) -> None:
    config = github_config(github={"app_id": APP_ID, "app_private_key": f"file:{app_key}"})
    assert await github_token(config) == GITHUB_TOKEN
    assert fake_github.tokens_issued == 0


async def test_wrong_key_is_a_clear_error(
    github_config: Callable[..., Config], fake_github: FakeGitHub, app_key: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.pem"
    other.write_text(_key()[0])
    config = _app_config(github_config, fake_github, other)
    with pytest.raises(GitHubError, match="rejected the GitHub App's JWT") as info:
        await github_token(config)
    assert "app_private_key" in (info.value.hint or "")
    assert "BEGIN" not in info.value.render()


async def test_not_installed_and_bad_pem(
    github_config: Callable[..., Config], fake_github: FakeGitHub, app_key: Path, tmp_path: Path
) -> None:
    config = _app_config(github_config, fake_github, app_key, installation_id=1)
    with pytest.raises(GitHubError, match="not installed"):
        await github_token(config)
    with pytest.raises(GitHubError, match="not a valid PEM RSA key"):
        app_jwt("1", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")


def test_app_needs_both_keys(github_config: Callable[..., Config], fake_github: FakeGitHub) -> None:
    with pytest.raises(ConfigError, match="both `app_id` and `app_private_key`"):
        github_config(github={"api_base_url": fake_github.url, "app_id": APP_ID})
