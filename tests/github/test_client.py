"""GitHubClient against the fake GitHub server: pull requests, issues, search, and error mapping."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.errors import GitHubError
from kwaak.git.github import (
    CodeSearchHit,
    GitHubAuthError,
    GitHubClient,
    GitHubForbidden,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubValidationError,
    IssueComment,
    PullRequest,
)
from tests.fakes.github_server import FakeGitHub
from tests.github.conftest import GITHUB_TOKEN


async def test_create_find_and_update_pull_request(github_client: GitHubClient, fake_github: FakeGitHub) -> None:
    created = await github_client.create_pull_request(head="kwaak/fix-1", base="main", title="fix: one", body="b1")
    assert created == PullRequest(
        number=1,
        html_url="https://github.com/acme/widgets/pull/1",
        title="fix: one",
        body="b1",
        head="kwaak/fix-1",
        base="main",
        state="open",
    )
    assert await github_client.find_pull_request("kwaak/fix-1") == created
    assert await github_client.find_pull_request("kwaak/other") is None
    updated = await github_client.update_pull_request(1, title="fix: two", body="b2")
    assert (updated.number, updated.title, updated.body) == (1, "fix: two", "b2")
    listing = fake_github.requests_to("GET", "/pulls")[0]
    assert listing.query == {"head": "acme:kwaak/fix-1", "state": "open", "per_page": "10"}
    assert listing.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"


async def test_closed_pull_request_is_not_found(github_client: GitHubClient, fake_github: FakeGitHub) -> None:
    pull = await github_client.create_pull_request(head="kwaak/x", base="main", title="t", body="b")
    fake_github.pulls[pull.number]["state"] = "closed"
    assert await github_client.find_pull_request("kwaak/x") is None


async def test_issue_and_comments(github_client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.add_issue(7, "Crash on empty input", body="It crashes.", labels=["bug"], comments=[("bob", "Me too")])
    issue = await github_client.get_issue(7)
    assert (issue.number, issue.title, issue.author, issue.labels, issue.state) == (
        7,
        "Crash on empty input",
        "octocat",
        ("bug",),
        "open",
    )
    comments = await github_client.list_issue_comments(7)
    assert comments == [IssueComment(author="bob", body="Me too", created_at="2025-01-02T03:04:05Z")]


async def test_search_code_asks_for_text_matches(github_client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.add_code("psf/requests", "src/requests/api.py", "import os\ndef get(url):\n    return request('get')\n")
    hits = await github_client.search_code("def get language:python")
    assert hits == [
        CodeSearchHit(
            repository="psf/requests",
            path="src/requests/api.py",
            html_url="https://github.com/psf/requests/blob/main/src/requests/api.py",
            fragments=("def get(url):",),
        )
    ]
    [request] = fake_github.requests_to("GET", "/search/code")
    assert request.headers["accept"] == "application/vnd.github.text-match+json"


async def test_search_issues(github_client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.add_issue(1, "one", labels=["kwaak"])
    fake_github.add_issue(2, "two", labels=["other"])
    fake_github.add_issue(3, "three", labels=["kwaak"], state="closed")
    found = await github_client.search_issues("label:kwaak is:open repo:acme/widgets")
    assert [i.number for i in found] == [1]


async def test_bad_token_is_a_clear_auth_error(fake_github: FakeGitHub) -> None:
    async with GitHubClient(token="wrong-secret-xyz", owner="acme", repo="widgets", base_url=fake_github.url) as gh:
        with pytest.raises(GitHubAuthError) as info:
            await gh.get_issue(1)
        assert "wrong-secret-xyz" not in repr(gh)
    err = info.value
    assert err.message == "GitHub rejected the token (401 Bad credentials)"
    assert err.hint is not None
    assert "github_api_key" in err.hint
    assert "wrong-secret-xyz" not in err.render()


async def test_rate_limit_reports_the_reset_time(github_client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.rate_limited = True
    fake_github.rate_limit_reset = int(time.time()) + 120
    with pytest.raises(GitHubRateLimited) as info:
        await github_client.get_issue(1)
    reset = datetime.fromtimestamp(fake_github.rate_limit_reset, tz=UTC)
    assert info.value.reset_at == reset
    assert f"resets at {reset:%Y-%m-%d %H:%M:%S} UTC" in info.value.message
    assert "rate limit exceeded" in info.value.message


async def test_forbidden_without_rate_limit_headers(github_client: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.forbidden = True
    with pytest.raises(GitHubForbidden) as info:
        await github_client.search_code("foo")
    assert not isinstance(info.value, GitHubRateLimited)
    assert info.value.message == (
        "GitHub denied access to acme/widgets (403): Resource not accessible by personal access token"
    )


async def test_unknown_repository_is_not_found(fake_github: FakeGitHub) -> None:
    async with GitHubClient(token=GITHUB_TOKEN, owner="acme", repo="nope", base_url=fake_github.url) as gh:
        with pytest.raises(GitHubNotFound) as info:
            await gh.get_issue(3)
    assert info.value.message == "repository or issue not found: issue #3 in acme/nope (404)"
    assert info.value.hint is not None
    assert "git.repository" in info.value.hint


async def test_validation_error_carries_githubs_message(
    github_client: GitHubClient, fake_github: FakeGitHub, remote_path: Path, tmp_git_repo: Path
) -> None:
    fake_github.remote = remote_path
    subprocess.run(["git", "push", "-q", "origin", "main:refs/heads/empty"], cwd=tmp_git_repo, check=True)
    with pytest.raises(GitHubValidationError) as info:
        await github_client.create_pull_request(head="empty", base="main", title="t", body="b")
    assert info.value.message == "GitHub refused the request: Validation Failed: No commits between main and empty"


async def test_connection_refused(unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    async with GitHubClient(token=GITHUB_TOKEN, owner="acme", repo="widgets", base_url=url) as gh:
        with pytest.raises(GitHubError, match="cannot reach the GitHub API at http://127.0.0.1"):
            await gh.get_issue(1)


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"github_api_key": None}, "`github_api_key`"),
        ({"git": {"owner": None, "repository": None}}, "`git.owner`, `git.repository`"),
    ],
)
def test_from_config_requires_token_owner_and_repo(
    github_config: Callable[..., Config], overrides: dict[str, object], missing: str
) -> None:
    with pytest.raises(GitHubError) as info:
        GitHubClient.from_config(github_config(**overrides))
    assert info.value.message == f"GitHub is not configured: {missing} missing"
    assert info.value.hint


async def test_from_config_uses_base_url_and_token(
    github_config: Callable[..., Config], fake_github: FakeGitHub
) -> None:
    fake_github.add_issue(4, "Four")
    async with GitHubClient.from_config(github_config()) as gh:
        assert (await gh.get_issue(4)).title == "Four"
        assert gh.full_name == "acme/widgets"


def test_empty_token_counts_as_missing(github_config: Callable[..., Config]) -> None:
    with pytest.raises(GitHubError, match="`github_api_key` missing"):
        GitHubClient.from_config(github_config(github_api_key="text:"))


async def test_token_never_reaches_the_logs(
    github_client: GitHubClient, fake_github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    fake_github.add_issue(1, "One")
    caplog.set_level(logging.DEBUG)
    await github_client.get_issue(1)
    with pytest.raises(GitHubNotFound):
        await github_client.get_issue(2)
    assert caplog.records, "httpx/httpcore should have logged the requests"
    assert GITHUB_TOKEN not in caplog.text
    assert GITHUB_TOKEN not in repr(github_client)
