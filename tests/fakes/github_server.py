"""A fake GitHub REST API on 127.0.0.1 (pull requests, issues, comments, code and issue search).

Only the repository ``owner/repo`` given to :class:`FakeGitHub` exists; requests need
``Authorization: Bearer <token>`` (or ``token <token>``). With :meth:`FakeGitHub.enable_app` it
also plays a GitHub App: ``GET /repos/{owner}/{repo}/installation`` and ``POST
/app/installations/{id}/access_tokens`` take an RS256 JWT signed with the app's key (checked with its
public key: issuer, expiry), and the installation token then works like the personal token.
Switches simulate failures:
``rate_limited`` (403 with ``x-ratelimit-remaining: 0`` and a reset time) and ``forbidden``
(403 without rate-limit headers). When ``remote`` points to a git repository, creating a pull
request checks that the head branch exists there and has commits ahead of the base, like GitHub.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.web_server import FakeHTTPServer, RecordedRequest, Response

TEXT_MATCH = "application/vnd.github.text-match+json"


@dataclass(slots=True, kw_only=True)
class FakeIssue:
    """An issue in the fake repository."""

    number: int
    title: str
    body: str = ""
    state: str = "open"
    author: str = "octocat"
    labels: list[str] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    """``(author, body)`` pairs."""
    created_at: str = "2025-01-02T03:04:05Z"


@dataclass(slots=True, kw_only=True)
class FakeCodeFile:
    """A file that code search can find."""

    repository: str
    path: str
    content: str


class FakeGitHub(FakeHTTPServer):
    """The fake GitHub server. ``pulls`` holds created pull requests by number."""

    def __init__(self, *, token: str = "ghp_fake_token", owner: str = "acme", repo: str = "widgets") -> None:
        super().__init__()
        self.token, self.owner, self.repo = token, owner, repo
        self.pulls: dict[int, dict[str, Any]] = {}
        self.issues: dict[int, FakeIssue] = {}
        self.code: list[FakeCodeFile] = []
        self.remote: Path | None = None
        self.rate_limited = False
        self.rate_limit_reset = int(time.time()) + 600
        self.forbidden = False
        self._next_number = 1
        self.app: tuple[int, Any, int, str] | None = None
        """(app id, public key, installation id, installation token) once :meth:`enable_app` ran."""
        self.tokens_issued = 0

    def enable_app(self, app_id: int, public_key: Any, *, installation_id: int = 4242) -> str:
        """Act as GitHub for a GitHub App; returns the installation token it will issue."""
        token = f"ghs_installation_{installation_id}"
        self.app = (app_id, public_key, installation_id, token)
        return token

    # ------------------------------------------------------------------ setup helpers

    def add_issue(self, number: int, title: str, **kwargs: Any) -> FakeIssue:
        """Create an issue (kwargs as in :class:`FakeIssue`)."""
        issue = FakeIssue(number=number, title=title, **kwargs)
        with self.lock:
            self.issues[number] = issue
            self._next_number = max(self._next_number, number + 1)
        return issue

    def add_code(self, repository: str, path: str, content: str) -> None:
        """Make a file findable by ``search/code``."""
        with self.lock:
            self.code.append(FakeCodeFile(repository=repository, path=path, content=content))

    def requests_to(self, method: str, path_suffix: str) -> list[RecordedRequest]:
        """Recorded requests with this method whose path ends with ``path_suffix``."""
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    # ------------------------------------------------------------------ routing

    def _app_route(self, request: RecordedRequest) -> Response | None:
        """The GitHub App endpoints (JWT-authenticated); ``None`` for other paths."""
        install = f"/repos/{self.owner}/{self.repo}/installation"
        if self.app is None or not (request.path == install or request.path.startswith("/app/installations/")):
            return None
        import jwt

        app_id, public_key, installation_id, token = self.app
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(bearer, public_key, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]})
        except jwt.PyJWTError:
            return Response.json({"message": "A JSON web token could not be decoded"}, status=401)
        if str(claims["iss"]) != str(app_id) or claims["exp"] - claims["iat"] > 600:
            return Response.json({"message": "'Issuer' claim ('iss') must be an Integer"}, status=401)
        if request.path == install:
            return Response.json({"id": installation_id, "app_id": app_id})
        if request.method == "POST" and request.path == f"/app/installations/{installation_id}/access_tokens":
            self.tokens_issued += 1
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            return Response.json({"token": token, "expires_at": expires}, status=201)
        return _not_found()

    def handle(self, request: RecordedRequest) -> Response:
        app = self._app_route(request)
        if app is not None:
            return app
        auth = request.headers.get("authorization", "")
        tokens = (self.token, self.app[3]) if self.app is not None else (self.token,)
        if auth not in {f"{scheme} {t}" for t in tokens for scheme in ("Bearer", "token")}:
            return Response.json({"message": "Bad credentials", "status": "401"}, status=401)
        if self.rate_limited:
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0"}
            headers["x-ratelimit-reset"] = str(self.rate_limit_reset)
            return Response.json({"message": "API rate limit exceeded for user."}, status=403, headers=headers)
        if self.forbidden:
            return Response.json({"message": "Resource not accessible by personal access token"}, status=403)
        if request.path == "/search/code":
            return self._search_code(request)
        if request.path == "/search/issues":
            return self._search_issues(request)
        prefix = f"/repos/{self.owner}/{self.repo}/"
        if not request.path.startswith(prefix):
            return _not_found()
        with self.lock:
            return self._repo_route(request, request.path[len(prefix) :])

    def _repo_route(self, request: RecordedRequest, rest: str) -> Response:
        if rest == "pulls" and request.method == "POST":
            return self._create_pull(request.json())
        if rest == "pulls" and request.method == "GET":
            return self._list_pulls(request.query)
        if match := re.fullmatch(r"pulls/(\d+)", rest):
            pull = self.pulls.get(int(match[1]))
            if pull is None:
                return _not_found()
            if request.method == "PATCH":
                pull.update({k: v for k, v in request.json().items() if k in ("title", "body", "state")})
            return Response.json(pull)
        if match := re.fullmatch(r"issues/(\d+)", rest):
            issue = self.issues.get(int(match[1]))
            return Response.json(self._issue_json(issue)) if issue else _not_found()
        if match := re.fullmatch(r"issues/(\d+)/comments", rest):
            issue = self.issues.get(int(match[1]))
            return Response.json(self._comments_json(issue)) if issue else _not_found()
        return _not_found()

    # ------------------------------------------------------------------ pulls

    def _create_pull(self, data: dict[str, Any]) -> Response:
        head, base = str(data.get("head", "")), str(data.get("base", ""))
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls.values()):
            return _validation(f"A pull request already exists for {self.owner}:{head}.")
        if self.remote is not None:
            if not _has_branch(self.remote, head):
                return Response.json(
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                    },
                    status=422,
                )
            if not _commits_between(self.remote, base, head):
                return _validation(f"No commits between {base} and {head}")
        number = self._next_number
        self._next_number += 1
        pull = {
            "number": number,
            "html_url": f"https://github.com/{self.owner}/{self.repo}/pull/{number}",
            "title": data.get("title", ""),
            "body": data.get("body", ""),
            "state": "open",
            "head": {"ref": head, "label": f"{self.owner}:{head}"},
            "base": {"ref": base},
        }
        self.pulls[number] = pull
        return Response.json(pull, status=201)

    def _list_pulls(self, query: dict[str, str]) -> Response:
        state = query.get("state", "open")
        pulls = [p for p in self.pulls.values() if state == "all" or p["state"] == state]
        if head := query.get("head"):
            pulls = [p for p in pulls if p["head"]["label"] == head]
        return Response.json(pulls)

    # ------------------------------------------------------------------ issues

    def _issue_json(self, issue: FakeIssue) -> dict[str, Any]:
        return {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "user": {"login": issue.author},
            "labels": [{"name": name} for name in issue.labels],
            "created_at": issue.created_at,
            "html_url": f"https://github.com/{self.owner}/{self.repo}/issues/{issue.number}",
        }

    def _comments_json(self, issue: FakeIssue) -> list[dict[str, Any]]:
        return [
            {"id": i, "user": {"login": author}, "body": body, "created_at": issue.created_at}
            for i, (author, body) in enumerate(issue.comments, start=1)
        ]

    def _search_issues(self, request: RecordedRequest) -> Response:
        terms = request.query.get("q", "").split()
        with self.lock:
            found = [self._issue_json(i) for i in self.issues.values() if _issue_matches(i, terms, self.full_name)]
        return Response.json({"total_count": len(found), "incomplete_results": False, "items": found})

    @property
    def full_name(self) -> str:
        """``owner/repo``."""
        return f"{self.owner}/{self.repo}"

    # ------------------------------------------------------------------ code search

    def _search_code(self, request: RecordedRequest) -> Response:
        words = [w for w in request.query.get("q", "").split() if ":" not in w]
        if not words:
            return _validation("Validation Failed")
        needle = words[0].lower()
        with_matches = TEXT_MATCH in request.headers.get("accept", "")
        items = []
        with self.lock:
            files = [f for f in self.code if needle in f.content.lower()]
        for file in files:
            item: dict[str, Any] = {
                "name": file.path.rsplit("/", 1)[-1],
                "path": file.path,
                "html_url": f"https://github.com/{file.repository}/blob/main/{file.path}",
                "repository": {"full_name": file.repository},
            }
            if with_matches:
                lines = [line for line in file.content.splitlines() if needle in line.lower()]
                item["text_matches"] = [{"fragment": line, "matches": []} for line in lines]
            items.append(item)
        return Response.json({"total_count": len(items), "incomplete_results": False, "items": items})


def _issue_matches(issue: FakeIssue, terms: list[str], full_name: str) -> bool:
    for term in terms:
        key, sep, value = term.partition(":")
        if not sep and term.lower() not in f"{issue.title} {issue.body}".lower():
            return False
        if key == "label" and value not in issue.labels:
            return False
        if key in ("is", "state") and value in ("open", "closed") and issue.state != value:
            return False
        if key == "repo" and value != full_name:
            return False
    return True


def _not_found() -> Response:
    return Response.json({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, status=404)


def _validation(message: str) -> Response:
    return Response.json(
        {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": message}]},
        status=422,
    )


def _git(remote: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=remote, capture_output=True, text=True, check=False)


def _has_branch(remote: Path, branch: str) -> bool:
    return _git(remote, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").returncode == 0


def _commits_between(remote: Path, base: str, head: str) -> bool:
    out = _git(remote, "rev-list", "--count", f"refs/heads/{base}..refs/heads/{head}")
    return out.returncode == 0 and out.stdout.strip() not in ("", "0")
