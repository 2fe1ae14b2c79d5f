"""Turn GitHub issues into agent tasks (``/github fix N`` and ``kwaak batch --github-issues``)."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, NamedTuple

from kwaak.errors import GitHubError
from kwaak.git.github import GitHubClient, GitHubNotFound, Issue, IssueComment
from kwaak.tools.github_tools import github_client
from kwaak.tools.templates import render

if TYPE_CHECKING:
    from kwaak.config import Config

FIX_ISSUE_PROMPT = (
    "Please summarize, analyze, and then proceed to fix the following issue. "
    "Take into account suggested fixes proposed in the issue description and comments."
)
_CONCURRENT_FETCHES = 4


class IssueTask(NamedTuple):
    """An issue ready to hand to an agent."""

    number: int
    title: str
    prompt: str


def render_issue(issue: Issue, comments: list[IssueComment]) -> str:
    """The issue as markdown: title, state, author, created, labels, description and comments."""
    return render("github_issue.md.j2", issue=issue, comments=comments)


def issue_prompt(issue: Issue, comments: list[IssueComment]) -> str:
    """The prompt that starts an agent on ``issue`` (kwaak's wording, then the issue markdown)."""
    return f"{FIX_ISSUE_PROMPT}\n\n{render_issue(issue, comments)}"


async def issue_task(config: Config, number: int, *, client: GitHubClient | None = None) -> str:
    """Fetch issue ``number`` and its comments and return the prompt for an agent.

    Raises:
        GitHubError: GitHub is not configured, the issue does not exist, or the API failed.
    """
    async with github_client(config, client) as gh:
        try:
            issue, comments = await asyncio.gather(gh.get_issue(number), gh.list_issue_comments(number))
        except GitHubNotFound as exc:
            msg = f"Failed to fetch GitHub issue #{number}: {exc.message}"
            raise GitHubNotFound(msg, hint=exc.hint) from exc
    return issue_prompt(issue, comments)


def scoped_query(query: str, repository: str) -> str:
    """Restrict a search to open issues of ``repository`` unless the query sets a type or state.

    Raises:
        GitHubError: the query names another repository (agents only work on this one).
    """
    words = query.split()
    lowered = [w.lower() for w in words]
    others = [
        w
        for w in words
        if w.lower().startswith(("repo:", "org:", "user:")) and w.lower() != f"repo:{repository}".lower()
    ]
    if others:
        msg = f"issues must come from the configured repository {repository}, not `{others[0]}`"
        raise GitHubError(msg, hint=f"remove `{others[0]}` from the query (kwaak adds `repo:{repository}` itself)")
    if f"repo:{repository}".lower() not in lowered:
        words.append(f"repo:{repository}")
    if not any(w in ("is:issue", "is:pr", "type:issue", "type:pr") for w in lowered):
        words.append("is:issue")
    if not any(re.fullmatch(r"(is|state):(open|closed)", w) for w in lowered):
        words.append("is:open")
    return " ".join(words)


async def issues_for_query(
    config: Config, query: str, *, client: GitHubClient | None = None, limit: int = 100
) -> list[IssueTask]:
    """Search issues (e.g. ``label:kwaak``) and build a task per issue, comments included.

    The search is limited to the configured repository, and to open issues unless ``query`` sets
    a type or state itself.

    Raises:
        GitHubError: GitHub is not configured or the API failed.
    """
    async with github_client(config, client) as gh:
        issues = await gh.search_issues(scoped_query(query, gh.full_name), limit=limit)
        gate = asyncio.Semaphore(_CONCURRENT_FETCHES)

        async def comments_of(issue: Issue) -> list[IssueComment]:
            async with gate:
                return await gh.list_issue_comments(issue.number)

        all_comments = await asyncio.gather(*(comments_of(issue) for issue in issues))
    return [
        IssueTask(number=issue.number, title=issue.title, prompt=issue_prompt(issue, comments))
        for issue, comments in zip(issues, all_comments, strict=True)
    ]
