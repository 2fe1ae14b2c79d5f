"""GitHub issues become agent prompts (``/github fix N``, ``kwaak batch --github-issues``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kwaak.commands.github_issue import IssueTask, issue_task, issues_for_query, scoped_query
from kwaak.config import Config
from kwaak.errors import GitHubError
from kwaak.git.github import GitHubNotFound
from tests.fakes.github_server import FakeGitHub

PREFIX = (
    "Please summarize, analyze, and then proceed to fix the following issue. "
    "Take into account suggested fixes proposed in the issue description and comments.\n\n"
)


async def test_issue_with_comments_becomes_the_fix_prompt(
    github_config: Callable[..., Config], fake_github: FakeGitHub
) -> None:
    fake_github.add_issue(
        42,
        "Division by zero in calc",
        body="Calling `div(1, 0)` crashes.\n",
        author="alice",
        labels=["bug", "good first issue"],
        comments=[("bob", "Maybe return None?"), ("carol", "Raise ValueError instead.")],
    )
    prompt = await issue_task(github_config(), 42)
    assert prompt == PREFIX + (
        "# Issue #42: Division by zero in calc\n"
        "\n"
        "**State**: open\n"
        "**Author**: alice\n"
        "**Created**: 2025-01-02T03:04:05Z\n"
        "**Labels**: bug, good first issue\n"
        "\n"
        "## Issue Description\n"
        "\n"
        "Calling `div(1, 0)` crashes.\n"
        "\n"
        "## Comments\n"
        "\n"
        "### Comment #1 by bob\n"
        "\n"
        "Maybe return None?\n"
        "\n"
        "### Comment #2 by carol\n"
        "\n"
        "Raise ValueError instead.\n"
    )


async def test_issue_without_labels_body_or_comments(
    github_config: Callable[..., Config], fake_github: FakeGitHub
) -> None:
    fake_github.add_issue(5, "Empty one")
    prompt = await issue_task(github_config(), 5)
    assert prompt == PREFIX + (
        "# Issue #5: Empty one\n\n**State**: open\n**Author**: octocat\n**Created**: 2025-01-02T03:04:05Z\n\n"
        "## Issue Description\n\n_No description provided._\n\n## Comments\n\n_No comments._\n"
    )


async def test_missing_issue_says_which(github_config: Callable[..., Config]) -> None:
    with pytest.raises(GitHubNotFound) as info:
        await issue_task(github_config(), 99)
    assert info.value.message.startswith("Failed to fetch GitHub issue #99: repository or issue not found")


async def test_issue_task_without_github_config(github_config: Callable[..., Config]) -> None:
    with pytest.raises(GitHubError, match="GitHub is not configured: `github_api_key` missing"):
        await issue_task(github_config(github_api_key=None), 1)


async def test_issues_for_query_builds_a_task_per_matching_issue(
    github_config: Callable[..., Config], fake_github: FakeGitHub
) -> None:
    fake_github.add_issue(1, "First", labels=["kwaak"], comments=[("dan", "context")])
    fake_github.add_issue(2, "Second", labels=["wontfix"])
    fake_github.add_issue(3, "Third", labels=["kwaak"])
    fake_github.add_issue(4, "Closed", labels=["kwaak"], state="closed")
    tasks = await issues_for_query(github_config(), "label:kwaak")
    assert [(t.number, t.title) for t in tasks] == [(1, "First"), (3, "Third")]
    assert isinstance(tasks[0], IssueTask)
    assert tasks[0].prompt.startswith(PREFIX + "# Issue #1: First\n")
    assert "### Comment #1 by dan\n\ncontext" in tasks[0].prompt
    [search] = fake_github.requests_to("GET", "/search/issues")
    assert search.query["q"] == "label:kwaak repo:acme/widgets is:issue is:open"


def test_scoped_query_keeps_explicit_qualifiers() -> None:
    assert scoped_query("label:x is:closed", "a/b") == "label:x is:closed repo:a/b is:issue"
    assert scoped_query("repo:A/B is:pr state:open", "a/b") == "repo:A/B is:pr state:open"


def test_scoped_query_refuses_other_repositories() -> None:
    with pytest.raises(GitHubError, match="not `repo:other/x`"):
        scoped_query("bug repo:other/x", "a/b")
