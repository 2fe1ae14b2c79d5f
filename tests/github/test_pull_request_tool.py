"""``create_or_update_pull_request`` end to end: a real worktree, a bare ``origin``, the fake GitHub.

And ``github_search_code`` through the registry.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.executors.local import LocalExecutor
from kwaak.git.github import GitHubClient
from kwaak.git.workspace import create_workspace
from kwaak.messages import ToolCall, ToolResult
from kwaak.tools.base import ToolContext, ToolRegistry, WorkspaceInfo
from kwaak.tools.github_tools import (
    create_or_update_pull_request_tool,
    github_search_code_tool,
    open_pull_request,
    render_pull_request_body,
)
from tests.fakes.github_server import FakeGitHub
from tests.github.conftest import GITHUB_TOKEN

FOOTER = (
    "_This pull request was created by [kwaak](https://github.com/bosun-ai/kwaak), a free, open-source, "
    "autonomous coding agent tool. Pull requests are tracked in bosun-ai/kwaak#48_"
)
BRANCH = "kwaak/add-mul-1234abcd"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
async def workspace(tmp_git_repo: Path, tmp_path: Path) -> WorkspaceInfo:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "worktrees", branch=BRANCH, session_id="s1")
    return WorkspaceInfo(path=ws.path, branch=ws.branch, start_ref=ws.start_ref)


def make_ctx(config: Config, workspace: WorkspaceInfo | None, **services: object) -> ToolContext:
    root = workspace.path if workspace else config.cache_dir
    return ToolContext(
        session_id="s1", config=config, executor=LocalExecutor(root), workspace=workspace, services=dict(services)
    )


async def create_pr(ctx: ToolContext, title: str, body: str) -> ToolResult:
    registry = ToolRegistry([create_or_update_pull_request_tool()])
    arguments = json.dumps({"title": title, "pull_request_body": body})
    call = ToolCall(id="c1", name="create_or_update_pull_request", arguments=arguments)
    return await registry.invoke(call, ctx)


def assert_no_token_on_disk(*roots: Path) -> None:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and "/objects/" not in path.as_posix():
                assert GITHUB_TOKEN.encode() not in path.read_bytes(), f"token leaked into {path}"


async def test_pull_request_is_created_then_updated_across_restarts(
    github_config: Callable[..., Config],
    fake_github: FakeGitHub,
    workspace: WorkspaceInfo,
    tmp_git_repo: Path,
    remote_path: Path,
) -> None:
    fake_github.remote = remote_path  # GitHub checks the branch exists and is ahead of main
    config = github_config()
    calc = workspace.path / "src" / "calc.py"
    calc.write_text(calc.read_text() + "\n\ndef mul(a, b):\n    return a * b\n")

    first = await create_pr(make_ctx(config, workspace), "feat: add mul", "Adds `mul`.")
    assert (first.is_error, first.content) == (False, "https://github.com/acme/widgets/pull/1")
    pushed = git(remote_path, "rev-parse", f"refs/heads/{BRANCH}")
    assert pushed == git(workspace.path, "rev-parse", "HEAD")
    assert git(remote_path, "log", "-1", "--format=%s|%an", BRANCH) == "feat: add mul|kwaak"
    assert "def mul" in git(remote_path, "show", f"{BRANCH}:src/calc.py")
    pull = fake_github.pulls[1]
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["title"]) == (BRANCH, "main", "feat: add mul")
    assert pull["body"] == (
        f"Adds `mul`.\n\n## Changes\n\n```\n src/calc.py | 4 ++++\n 1 file changed, 4 insertions(+)\n```\n\n---\n\n"
        f"{FOOTER}\n"
    )

    # A "restart": fresh context, registry and client; the PR is found on GitHub, not in memory.
    (workspace.path / "NOTES.md").write_text("mul is new\n")
    second = await create_pr(make_ctx(github_config(), workspace), "feat: add mul and notes", "Now with notes.")
    assert (second.is_error, second.content) == (False, "https://github.com/acme/widgets/pull/1")
    assert list(fake_github.pulls) == [1]
    assert fake_github.pulls[1]["title"] == "feat: add mul and notes"
    assert fake_github.pulls[1]["body"].startswith("Now with notes.\n\n## Changes\n")
    assert " NOTES.md    | 1 +\n" in fake_github.pulls[1]["body"]
    assert git(remote_path, "show", f"{BRANCH}:NOTES.md") == "mul is new"
    assert len(fake_github.requests_to("POST", "/pulls")) == 1
    assert len(fake_github.requests_to("PATCH", "/pulls/1")) == 1

    assert git(workspace.path, "status", "--porcelain") == ""
    assert git(tmp_git_repo, "status", "--porcelain") == ""  # the user's checkout is untouched
    assert_no_token_on_disk(workspace.path, tmp_git_repo / ".git", remote_path)
    assert GITHUB_TOKEN not in git(workspace.path, "config", "--list", "--show-origin")
    assert GITHUB_TOKEN not in git(workspace.path, "log", "-p", "--all")


async def test_closed_pull_request_gets_a_new_one(
    github_config: Callable[..., Config], fake_github: FakeGitHub, workspace: WorkspaceInfo
) -> None:
    (workspace.path / "a.txt").write_text("a\n")
    url = await open_pull_request(github_config(), workspace, title="feat: a", body="A")
    assert url.endswith("/pull/1")
    fake_github.pulls[1]["state"] = "closed"
    url = await open_pull_request(github_config(), workspace, title="feat: a again", body="A")
    assert url.endswith("/pull/2")


async def test_no_commits_shows_githubs_message_to_the_model(
    github_config: Callable[..., Config], fake_github: FakeGitHub, workspace: WorkspaceInfo, remote_path: Path
) -> None:
    fake_github.remote = remote_path
    result = await create_pr(make_ctx(github_config(), workspace), "feat: nothing", "Nothing.")
    assert result.is_error
    assert result.content == (f"GitHub refused the request: Validation Failed: No commits between main and {BRANCH}")
    assert fake_github.pulls == {}


async def test_shared_client_from_services_is_used_and_left_open(
    github_config: Callable[..., Config], fake_github: FakeGitHub, workspace: WorkspaceInfo
) -> None:
    (workspace.path / "b.txt").write_text("b\n")
    async with GitHubClient(token=GITHUB_TOKEN, owner="acme", repo="widgets", base_url=fake_github.url) as shared:
        ctx = make_ctx(github_config(github_api_key=None), workspace, github=shared)
        result = await create_pr(ctx, "feat: b", "B")
        assert (result.is_error, result.content) == (False, "https://github.com/acme/widgets/pull/1")
        assert (await shared.find_pull_request(BRANCH)) is not None  # still usable


async def test_without_github_config_nothing_is_committed(
    github_config: Callable[..., Config], fake_github: FakeGitHub, workspace: WorkspaceInfo
) -> None:
    (workspace.path / "c.txt").write_text("c\n")
    result = await create_pr(make_ctx(github_config(git={"owner": None}), workspace), "feat: c", "C")
    assert result.is_error
    assert result.content.startswith("GitHub is not configured: `git.owner` missing\nhint: ")
    assert git(workspace.path, "status", "--porcelain") == "?? c.txt"
    assert fake_github.requests == []


async def test_without_workspace(github_config: Callable[..., Config]) -> None:
    result = await create_pr(make_ctx(github_config(), None), "feat: x", "X")
    assert (result.is_error, result.content) == (
        True,
        "This session has no git workspace, so no pull request can be made.",
    )


async def test_push_failure_is_reported(
    github_config: Callable[..., Config], fake_github: FakeGitHub, workspace: WorkspaceInfo
) -> None:
    (workspace.path / "d.txt").write_text("d\n")
    result = await create_pr(make_ctx(github_config(git={"remote": "upstream"}), workspace), "feat: d", "D")
    assert result.is_error
    assert "no remote named 'upstream'" in result.content
    assert fake_github.pulls == {}


def test_body_template_without_diff_stat() -> None:
    assert render_pull_request_body("  Fixes it.\n", "") == f"Fixes it.\n\n---\n\n{FOOTER}\n"


# ---------------------------------------------------------------------------- github_search_code


async def search(ctx: ToolContext, query: str) -> ToolResult:
    registry = ToolRegistry([github_search_code_tool()])
    return await registry.invoke(ToolCall(id="c", name="github_search_code", arguments=f'{{"query": "{query}"}}'), ctx)


async def test_code_search_results_are_rendered(github_config: Callable[..., Config], fake_github: FakeGitHub) -> None:
    fake_github.add_code("psf/requests", "api.py", "def get(url):\n    pass\ndef get_all():\n    pass\n")
    fake_github.add_code("encode/httpx", "client.py", "class Client:\n    def get(self):\n        pass\n")
    result = await search(make_ctx(github_config(), None), "def get")
    assert not result.is_error
    assert result.content == (
        "# Github search results\n\n"
        "**repository**: psf/requests\n"
        "**url**: https://github.com/psf/requests/blob/main/api.py?raw=true\n\n"
        "```\ndef get(url):\n```\n\n"
        "```\ndef get_all():\n```\n\n"
        "---\n\n"
        "**repository**: encode/httpx\n"
        "**url**: https://github.com/encode/httpx/blob/main/client.py?raw=true\n\n"
        "```\n    def get(self):\n```\n\n"
        "---\n"
    )


async def test_code_search_without_results(github_config: Callable[..., Config], fake_github: FakeGitHub) -> None:
    result = await search(make_ctx(github_config(), None), "nothing-matches")
    assert (result.is_error, result.content) == (False, "# Github search results\n\nNo results found.\n")


async def test_code_search_rate_limited(github_config: Callable[..., Config], fake_github: FakeGitHub) -> None:
    fake_github.rate_limited = True
    result = await search(make_ctx(github_config(), None), "x")
    assert result.is_error
    assert result.content.startswith("GitHub API rate limit exceeded; it resets at ")
