"""A small async client for the GitHub REST API (pull requests, issues, code search).

It speaks plain ``httpx``; the base URL is configurable (``[github] api_base_url``) so GitHub
Enterprise and the fake server of the test suite work the same way. The token is sent in the
``Authorization`` header only, and never appears in a ``repr``, a log line or an error message.

HTTP failures are translated into :class:`~kwaak.errors.GitHubError` subclasses that say what went
wrong and what to do next::

    GitHubError
      GitHubAuthError       401: the token was rejected
      GitHubForbidden       403 without rate-limit headers: the token lacks permission
      GitHubNotFound        404: repository, issue or pull request not found
      GitHubRateLimited     403/429 with ``x-ratelimit-remaining: 0`` or ``retry-after``
      GitHubValidationError 422: GitHub's own message ("No commits between main and ...")
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from kwaak import __version__
from kwaak.errors import GitHubError

if TYPE_CHECKING:
    from kwaak.config import Config

DEFAULT_BASE_URL = "https://api.github.com"
TEXT_MATCH_MEDIA_TYPE = "application/vnd.github.text-match+json"
_JSON_MEDIA_TYPE = "application/vnd.github+json"


class GitHubAuthError(GitHubError):
    """GitHub rejected the token (HTTP 401)."""

    kind = "github_auth"


class GitHubForbidden(GitHubError):
    """The token is valid but may not do this (HTTP 403)."""

    kind = "github_forbidden"


class GitHubNotFound(GitHubError):
    """The repository, issue or pull request does not exist or is not visible (HTTP 404)."""

    kind = "github_not_found"


class GitHubRateLimited(GitHubError):
    """The API rate limit is exhausted; ``reset_at`` tells when it refills, when known."""

    kind = "github_rate_limited"

    def __init__(self, message: str, *, hint: str | None = None, reset_at: datetime | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reset_at = reset_at


class GitHubValidationError(GitHubError):
    """GitHub refused the request as invalid (HTTP 422), e.g. no commits between the branches."""

    kind = "github_validation"


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequest:
    """A pull request as far as kwaak cares."""

    number: int
    html_url: str
    title: str
    body: str
    head: str
    """The head branch name."""
    base: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """An issue (or a pull request seen through the issues API)."""

    number: int
    title: str
    body: str
    state: str
    author: str
    created_at: str
    labels: tuple[str, ...]
    html_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueComment:
    """One comment on an issue."""

    author: str
    body: str
    created_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeSearchHit:
    """One file found by code search, with the matched fragments (``text-match`` media type)."""

    repository: str
    """``owner/name``."""
    path: str
    html_url: str
    fragments: tuple[str, ...]


class GitHubClient:
    """GitHub REST client bound to one repository (``owner/repo``).

    Use it as an async context manager, or call :meth:`aclose` when done.
    """

    def __init__(
        self,
        *,
        token: str | Callable[[], Awaitable[str]],
        owner: str,
        repo: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``token`` is a token, or an async function giving one per request (a GitHub App's)."""
        self.owner = owner
        self.repo = repo
        self.base_url = base_url.rstrip("/")
        self._token_source = None if isinstance(token, str) else token
        auth = {"Authorization": f"Bearer {token}"} if isinstance(token, str) else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers={
                **auth,
                "Accept": _JSON_MEDIA_TYPE,
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"kwaak-py/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_config(cls, config: Config, *, transport: httpx.AsyncBaseTransport | None = None) -> GitHubClient:
        """Build a client from ``github_api_key``, ``git.owner``, ``git.repository`` and ``[github]``.

        Raises:
            GitHubError: the token, owner or repository is not configured.
        """
        token = config.github_api_key.reveal() if config.github_api_key is not None else ""
        owner, repo = config.git.owner or "", config.git.repository or ""
        app = config.github.app_configured and not token.strip()
        required = (("github_api_key", "app" if app else token), ("git.owner", owner), ("git.repository", repo))
        missing = [f"`{key}`" for key, value in required if not value.strip()]
        if missing:
            msg = f"GitHub is not configured: {', '.join(missing)} missing"
            hint = 'set them in kwaak.toml, e.g. `github_api_key = "env:GITHUB_TOKEN"` and `[git] owner = "..."`'
            raise GitHubError(msg, hint=hint)
        source: str | Callable[[], Awaitable[str]] = token
        if app:
            from kwaak.git.github_app import github_token

            async def app_token() -> str:
                return await github_token(config, transport=transport) or ""

            source = app_token
        return cls(token=source, owner=owner, repo=repo, base_url=config.github.api_base_url, transport=transport)

    def __repr__(self) -> str:
        return f"GitHubClient(repo={self.full_name!r}, base_url={self.base_url!r})"

    @property
    def full_name(self) -> str:
        """``owner/repo``."""
        return f"{self.owner}/{self.repo}"

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ---------------------------------------------------------------- pull requests

    async def create_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request from branch ``head`` into ``base``.

        Raises:
            GitHubValidationError: e.g. no commits between the branches, or one already exists.
            GitHubError: any other API failure.
        """
        data = await self._request(
            "POST", self._repo_path("pulls"), json={"head": head, "base": base, "title": title, "body": body}
        )
        return _pull_request(data)

    async def update_pull_request(self, number: int, *, title: str, body: str) -> PullRequest:
        """Replace the title and body of pull request ``number``."""
        data = await self._request("PATCH", self._repo_path(f"pulls/{number}"), json={"title": title, "body": body})
        return _pull_request(data)

    async def find_pull_request(self, head: str) -> PullRequest | None:
        """The open pull request whose head is branch ``head`` of this repository, if any."""
        params = {"head": f"{self.owner}:{head}", "state": "open", "per_page": "10"}
        data = await self._request("GET", self._repo_path("pulls"), params=params)
        for item in _as_list(data):
            pull = _pull_request(item)
            if pull.head == head:
                return pull
        return None

    # ---------------------------------------------------------------- issues

    async def get_issue(self, number: int) -> Issue:
        """Issue ``number`` of this repository.

        Raises:
            GitHubNotFound: there is no such issue (or the token cannot see the repository).
        """
        return _issue(await self._request("GET", self._repo_path(f"issues/{number}"), what=f"issue #{number}"))

    async def list_issue_comments(self, number: int, *, limit: int = 100) -> list[IssueComment]:
        """The first ``limit`` comments of issue ``number`` (oldest first)."""
        params = {"per_page": str(min(limit, 100))}
        data = await self._request("GET", self._repo_path(f"issues/{number}/comments"), params=params)
        return [_comment(item) for item in _as_list(data)[:limit]]

    async def search_issues(self, query: str, *, limit: int = 100) -> list[Issue]:
        """Search issues and pull requests with GitHub's search syntax (first ``limit`` results)."""
        params = {"q": query, "per_page": str(min(limit, 100))}
        data = await self._request("GET", "search/issues", params=params)
        return [_issue(item) for item in _items(data)[:limit]]

    # ---------------------------------------------------------------- code search

    async def search_code(self, query: str) -> list[CodeSearchHit]:
        """Search code (first page), with the matched text fragments."""
        data = await self._request("GET", "search/code", params={"q": query}, headers={"Accept": TEXT_MATCH_MEDIA_TYPE})
        return [_code_hit(item) for item in _items(data)]

    # ---------------------------------------------------------------- transport

    def _repo_path(self, suffix: str) -> str:
        return f"repos/{self.owner}/{self.repo}/{suffix}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        what: str | None = None,
    ) -> Any:
        if self._token_source is not None:
            headers = {**(headers or {}), "Authorization": f"Bearer {await self._token_source()}"}
        try:
            response = await self._client.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            msg = f"GitHub API at {self.base_url} timed out ({method} /{path})"
            raise GitHubError(msg, hint="check your network connection and try again") from exc
        except httpx.TransportError as exc:
            msg = f"cannot reach the GitHub API at {self.base_url}: {exc}"
            raise GitHubError(msg, hint="check your network connection or `[github] api_base_url`") from exc
        if response.is_success:
            try:
                return response.json() if response.content else None
            except ValueError as exc:
                msg = f"GitHub answered {method} /{path} with invalid JSON"
                raise GitHubError(msg) from exc
        raise github_error(response, repo=self.full_name, what=what)


def github_error(response: httpx.Response, *, repo: str, what: str | None = None) -> GitHubError:
    """Translate a failed GitHub response into the matching :class:`GitHubError`."""
    status = response.status_code
    detail = _error_detail(response)
    if status in (403, 429) and _is_rate_limited(response):
        return _rate_limited(response)
    if status == 401:
        return GitHubAuthError(
            f"GitHub rejected the token (401 {detail or 'Bad credentials'})",
            hint="check `github_api_key`: the token may be expired, revoked or mistyped",
        )
    if status == 403:
        return GitHubForbidden(
            f"GitHub denied access to {repo} (403): {detail or 'forbidden'}",
            hint=f"give the token access to {repo} (repo contents and pull requests, read and write)",
        )
    if status == 404:
        subject = f"{what} in {repo}" if what else repo
        return GitHubNotFound(
            f"repository or issue not found: {subject} (404)",
            hint="check `git.owner` and `git.repository`; for private repositories the token must have access",
        )
    if status == 422:
        return GitHubValidationError(f"GitHub refused the request: {detail or 'Validation Failed'}")
    method, path = response.request.method, response.request.url.path
    return GitHubError(f"GitHub API error {status} on {method} {path}: {detail or response.reason_phrase}")


def _is_rate_limited(response: httpx.Response) -> bool:
    if response.headers.get("x-ratelimit-remaining") == "0":
        return True
    return "retry-after" in response.headers


def _rate_limited(response: httpx.Response) -> GitHubRateLimited:
    reset_at: datetime | None = None
    if (retry_after := response.headers.get("retry-after", "")).isdigit():
        reset_at = datetime.fromtimestamp(time.time() + int(retry_after), tz=UTC)
    elif (reset := response.headers.get("x-ratelimit-reset", "")).isdigit():
        reset_at = datetime.fromtimestamp(int(reset), tz=UTC)
    if reset_at is None:
        return GitHubRateLimited("GitHub API rate limit exceeded", hint="wait a few minutes and try again")
    wait = max(0, round(reset_at.timestamp() - time.time()))
    return GitHubRateLimited(
        f"GitHub API rate limit exceeded; it resets at {reset_at:%Y-%m-%d %H:%M:%S} UTC (in {wait}s)",
        hint="wait until the reset time, or use a token with a higher limit",
        reset_at=reset_at,
    )


def _error_detail(response: httpx.Response) -> str:
    """GitHub's ``message`` plus the ``errors[].message`` details, if the body is JSON."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if not isinstance(data, dict):
        return ""
    message = str(data.get("message") or "")
    details = [
        str(err.get("message") or err.get("code") or "") for err in data.get("errors") or [] if isinstance(err, dict)
    ]
    details = [d for d in details if d]
    if details:
        return f"{message}: {'; '.join(details)}" if message else "; ".join(details)
    return message


def _as_list(data: Any) -> list[dict[str, Any]]:
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _items(data: Any) -> list[dict[str, Any]]:
    return _as_list(data.get("items")) if isinstance(data, dict) else []


def _login(data: Any) -> str:
    return str(data.get("login") or "") if isinstance(data, dict) else ""


def _pull_request(data: Any) -> PullRequest:
    if not isinstance(data, dict):
        msg = "GitHub returned an unexpected pull request payload"
        raise GitHubError(msg)
    head, base = data.get("head") or {}, data.get("base") or {}
    return PullRequest(
        number=int(data["number"]),
        html_url=str(data.get("html_url") or ""),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        head=str(head.get("ref") or ""),
        base=str(base.get("ref") or ""),
        state=str(data.get("state") or ""),
    )


def _issue(data: Any) -> Issue:
    if not isinstance(data, dict):
        msg = "GitHub returned an unexpected issue payload"
        raise GitHubError(msg)
    labels = tuple(str(label.get("name") if isinstance(label, dict) else label) for label in data.get("labels") or [])
    return Issue(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or ""),
        author=_login(data.get("user")),
        created_at=str(data.get("created_at") or ""),
        labels=labels,
        html_url=str(data.get("html_url") or ""),
    )


def _comment(data: dict[str, Any]) -> IssueComment:
    return IssueComment(
        author=_login(data.get("user")), body=str(data.get("body") or ""), created_at=str(data.get("created_at") or "")
    )


def _code_hit(data: dict[str, Any]) -> CodeSearchHit:
    repository = data.get("repository") or {}
    fragments = tuple(
        str(match.get("fragment") or "") for match in data.get("text_matches") or [] if isinstance(match, dict)
    )
    return CodeSearchHit(
        repository=str(repository.get("full_name") or ""),
        path=str(data.get("path") or ""),
        html_url=str(data.get("html_url") or ""),
        fragments=fragments,
    )
