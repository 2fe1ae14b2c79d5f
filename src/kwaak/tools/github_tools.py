"""GitHub tools: ``create_or_update_pull_request`` and ``github_search_code``.

The pull-request flow is also available to the backend (a ``CreatePullRequest`` op from the UI or
the CLI) as :func:`open_pull_request`. It commits what is left in the agent's worktree, pushes the
branch (the token travels in a git config environment variable, never in a URL or a file), and
then updates the open pull request for that branch or creates one. Looking the pull request up on
GitHub, instead of remembering it in memory as kwaak 0.16.2 did, makes "update" work across
sessions and restarts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kwaak.errors import GitError, GitHubError
from kwaak.git.commit import agent_identity_env, commit_staged, has_changes, stage_all
from kwaak.git.github import GitHubClient, GitHubValidationError, PullRequest
from kwaak.git.github_app import github_token
from kwaak.git.push import push_branch
from kwaak.git.trusted import agent_git
from kwaak.tools.base import Tool, ToolContext, ToolError, WorkspaceInfo, string_params
from kwaak.tools.templates import render

if TYPE_CHECKING:
    from kwaak.config import Config

NO_URL_MESSAGE = "No pull request url found, are you sure you committed and pushed your changes?"

PR_DESCRIPTION = (
    "Creates or updates a pull request on Github. May only be called when the task is completed. "
    "Commits and pushes any remaining changes first. Present the pull request url to the user when "
    "you are done. The title must follow conventional commits (e.g. `fix: handle empty input`)."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequestOutcome:
    """The pull request after :func:`publish_pull_request`, and whether it was just created."""

    pull: PullRequest
    created: bool


@asynccontextmanager
async def github_client(config: Config, client: GitHubClient | None = None) -> AsyncIterator[GitHubClient]:
    """Yield ``client`` if given (left open), else a new client from ``config`` (closed afterwards).

    Raises:
        GitHubError: no client was given and GitHub is not configured.
    """
    if client is not None:
        yield client
        return
    async with GitHubClient.from_config(config) as owned:
        yield owned


async def commit_pending_changes(config: Config, workspace: WorkspaceInfo, message: str) -> bool:
    """Commit every change in the worktree as the agent (argv git, no shell). True if it committed.

    Raises:
        GitError: staging or committing failed.
    """
    layout = agent_git(workspace.path)
    if not await has_changes(layout.worktree) or not await stage_all(layout.worktree):
        return False
    return await commit_staged(layout, message, env=agent_identity_env(config)) is not None


async def diff_stat(workspace: WorkspaceInfo) -> str:
    """``git diff --stat <start_ref> HEAD`` of the workspace (empty when git fails)."""
    layout = agent_git(workspace.path)
    result = await layout.run(
        "diff", "--stat", "--no-ext-diff", "--no-textconv", workspace.start_ref, "HEAD", check=False
    )
    return result.stdout.rstrip() if result.ok else ""


def render_pull_request_body(description: str, stat: str) -> str:
    """The pull request body: the description, the diff stat and kwaak's footer."""
    return render("pull_request.md.j2", description=description.strip(), diff_stat=stat)


async def publish_pull_request(
    config: Config,
    workspace: WorkspaceInfo,
    *,
    title: str,
    body: str,
    client: GitHubClient | None = None,
) -> PullRequestOutcome:
    """Commit, push, then update the open pull request of the workspace's branch or create one.

    Raises:
        GitError: committing or pushing failed.
        GitHubError: GitHub is not configured or the API refused the request.
    """
    token = await github_token(config)
    async with github_client(config, client) as gh:
        await commit_pending_changes(config, workspace, title)
        await push_branch(workspace.path, workspace.branch, remote=config.git.remote, token=token)
        full_body = render_pull_request_body(body, await diff_stat(workspace))
        existing = await gh.find_pull_request(workspace.branch)
        if existing is not None:
            pull = await gh.update_pull_request(existing.number, title=title, body=full_body)
            return PullRequestOutcome(pull=pull, created=False)
        try:
            pull = await gh.create_pull_request(
                head=workspace.branch, base=config.main_branch, title=title, body=full_body
            )
        except GitHubValidationError as exc:
            # Someone (another kwaak, a human) opened one between our lookup and our create.
            existing = await gh.find_pull_request(workspace.branch) if "already exists" in exc.message else None
            if existing is None:
                raise
            pull = await gh.update_pull_request(existing.number, title=title, body=full_body)
            return PullRequestOutcome(pull=pull, created=False)
        return PullRequestOutcome(pull=pull, created=True)


async def open_pull_request(
    config: Config,
    workspace: WorkspaceInfo,
    *,
    title: str,
    body: str,
    client: GitHubClient | None = None,
) -> str:
    """Like :func:`publish_pull_request`, returning the pull request's html URL.

    Raises:
        GitError: committing or pushing failed.
        GitHubError: GitHub is not configured, the API refused the request, or returned no URL.
    """
    outcome = await publish_pull_request(config, workspace, title=title, body=body, client=client)
    if not outcome.pull.html_url:
        raise GitHubError(NO_URL_MESSAGE)
    return outcome.pull.html_url


def _shared_client(ctx: ToolContext) -> GitHubClient | None:
    client = ctx.services.get("github")
    return client if isinstance(client, GitHubClient) else None


async def _create_or_update_pull_request(ctx: ToolContext, args: dict[str, Any]) -> str:
    if ctx.workspace is None:
        msg = "This session has no git workspace, so no pull request can be made."
        raise ToolError(msg)
    title = str(args.get("title") or "").strip()
    if not title:
        msg = "The pull request needs a non-empty `title`."
        raise ToolError(msg)
    ctx.activity("Creating or updating pull request")
    try:
        outcome = await publish_pull_request(
            ctx.config,
            ctx.workspace,
            title=title,
            body=str(args.get("pull_request_body") or ""),
            client=_shared_client(ctx),
        )
    except (GitError, GitHubError) as exc:
        raise ToolError(exc.render()) from exc
    return outcome.pull.html_url or NO_URL_MESSAGE


def create_or_update_pull_request_tool() -> Tool:
    """The ``create_or_update_pull_request`` tool (needs a workspace and a GitHub configuration)."""
    return Tool(
        name="create_or_update_pull_request",
        description=PR_DESCRIPTION,
        handler=_create_or_update_pull_request,
        parameters=string_params(
            ("title", "Title of the pull request, following conventional commits"),
            ("pull_request_body", "Body of the pull request: what changed and why, in markdown"),
        ),
        mutating=True,
        summarize=lambda args: f"creating pull request `{args['title']}`",
    )


# ---------------------------------------------------------------------------- code search


def render_code_search(hits: list[Any]) -> str:
    """Render code-search hits as kwaak's "# Github search results" markdown."""
    return render("github_search_results.md.j2", hits=hits)


async def _github_search_code(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = str(args.get("query") or "").strip()
    if not query:
        msg = "The search `query` must not be empty."
        raise ToolError(msg)
    try:
        async with github_client(ctx.config, _shared_client(ctx)) as gh:
            hits = await gh.search_code(query)
    except GitHubError as exc:
        raise ToolError(exc.render()) from exc
    return render_code_search(hits)


def _summarize_search(args: Mapping[str, Any]) -> str:
    return f"searching github for `{args['query']}`"


def github_search_code_tool() -> Tool:
    """The ``github_search_code`` tool: GitHub code search with matched fragments."""
    return Tool(
        name="github_search_code",
        description=(
            "Search code on github. Use this to find usages and examples of libraries and APIs in public "
            "repositories (first page of results)."
        ),
        handler=_github_search_code,
        parameters=string_params(("query", "Github search query (compatible with github search api)")),
        mutating=False,
        summarize=_summarize_search,
    )
