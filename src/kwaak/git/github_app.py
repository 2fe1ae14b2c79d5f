"""GitHub App authentication: app id + private key → a JWT → an installation access token.

Beside the personal ``github_api_key``, kwaak can act as a GitHub App (kwaak 0.19's
``[github] app_id`` / ``app_private_key``): it signs a 9-minute RS256 JWT with the app's private
key, finds the app's installation on ``git.owner/git.repository`` (unless ``installation_id`` is
set), and exchanges the JWT for an installation token (valid one hour; reused until 5 minutes
before it expires). The token is used like a personal token: API requests and ``git push``
(``x-access-token``). The private key and the tokens are never logged or shown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from kwaak import __version__
from kwaak.config import Config
from kwaak.errors import GitHubError

JWT_LIFETIME_SEC = 540
"""GitHub accepts at most 10 minutes; 9 leaves room for clock skew."""
REFRESH_BEFORE_SEC = 300
_cache: dict[tuple[str, str, str], tuple[str, float]] = {}


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """What an app needs to authenticate (from ``[github]``)."""

    app_id: str
    private_key: str
    installation_id: int | None
    base_url: str


def app_credentials(config: Config) -> AppCredentials | None:
    """The configured GitHub App, or ``None`` when ``[github] app_id`` is not set."""
    gh = config.github
    if gh.app_id is None or gh.app_private_key is None:
        return None
    return AppCredentials(
        app_id=str(gh.app_id),
        private_key=gh.app_private_key.reveal(),
        installation_id=gh.installation_id,
        base_url=gh.api_base_url.rstrip("/"),
    )


def app_jwt(app_id: str, private_key: str, *, now: float | None = None) -> str:
    """The app's JWT (RS256, ``iss`` = app id, issued 60 s in the past against clock drift).

    Raises:
        GitHubError: the private key is not a valid PEM RSA key.
    """
    import jwt

    issued = int(now if now is not None else time.time()) - 60
    payload = {"iat": issued, "exp": issued + 60 + JWT_LIFETIME_SEC, "iss": app_id}
    try:
        return jwt.encode(payload, private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        msg = f"cannot sign the GitHub App JWT: the private key is not a valid PEM RSA key ({type(exc).__name__})"
        hint = 'set `[github] app_private_key` to the app\'s .pem key, e.g. "file:~/.config/kwaak/app.pem"'
        raise GitHubError(msg, hint=hint) from None


async def github_token(config: Config, *, transport: httpx.AsyncBaseTransport | None = None) -> str | None:
    """The token kwaak uses for GitHub: ``github_api_key``, else a GitHub App installation token.

    Raises:
        GitHubError: the app is configured but GitHub refused it.
    """
    if config.github_api_key is not None and config.github_api_key.reveal().strip():
        return config.github_api_key.reveal()
    creds = app_credentials(config)
    if creds is None:
        return None
    return await installation_token(creds, config.git.owner or "", config.git.repository or "", transport=transport)


async def installation_token(
    creds: AppCredentials, owner: str, repo: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> str:
    """An installation token for ``owner/repo`` (cached until 5 minutes before it expires).

    Raises:
        GitHubError: the key, the app id or the installation was refused.
    """
    key = (creds.base_url, creds.app_id, f"{owner}/{repo}#{creds.installation_id}")
    cached = _cache.get(key)
    if cached is not None and cached[1] - REFRESH_BEFORE_SEC > time.time():
        return cached[0]
    token, expires = await _fetch_token(creds, owner, repo, transport)
    _cache[key] = (token, expires)
    return token


async def _fetch_token(
    creds: AppCredentials, owner: str, repo: str, transport: httpx.AsyncBaseTransport | None
) -> tuple[str, float]:
    headers = {
        "Authorization": f"Bearer {app_jwt(creds.app_id, creds.private_key)}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": f"kwaak-py/{__version__}",
    }
    async with httpx.AsyncClient(
        base_url=creds.base_url + "/", headers=headers, timeout=30, transport=transport
    ) as http:
        installation = creds.installation_id
        if installation is None:
            found = await _call(http, "GET", f"repos/{owner}/{repo}/installation", what=f"{owner}/{repo}")
            installation = int(found["id"])
        data = await _call(http, "POST", f"app/installations/{installation}/access_tokens", what=f"#{installation}")
    token = str(data.get("token") or "")
    if not token:
        raise GitHubError("GitHub answered without an installation token", hint="check the GitHub App's permissions")
    return token, _expiry(data.get("expires_at"))


async def _call(http: httpx.AsyncClient, method: str, path: str, *, what: str) -> dict[str, Any]:
    try:
        response = await http.request(method, path)
    except httpx.HTTPError as exc:
        msg = f"cannot reach the GitHub API at {http.base_url} for the GitHub App token: {type(exc).__name__}"
        raise GitHubError(msg, hint="check your network connection or `[github] api_base_url`") from exc
    if response.status_code == 401:
        msg = "GitHub rejected the GitHub App's JWT (401): wrong `app_id` or private key"
        raise GitHubError(msg, hint="check `[github] app_id` and `app_private_key` (the app's .pem key)")
    if response.status_code == 404:
        msg = f"the GitHub App is not installed on {what} (404)"
        raise GitHubError(msg, hint="install the app on the repository, or set `[github] installation_id`")
    if not response.is_success:
        msg = f"GitHub refused the GitHub App token request ({response.status_code})"
        raise GitHubError(msg, hint="check the GitHub App's permissions and installation")
    try:
        data = response.json()
    except ValueError as exc:
        raise GitHubError("GitHub answered the GitHub App token request with invalid JSON") from exc
    if not isinstance(data, dict):
        raise GitHubError("GitHub answered the GitHub App token request with an unexpected body")
    return data


def _expiry(value: object) -> float:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time() + 3600


def forget_tokens() -> None:
    """Drop cached installation tokens (tests)."""
    _cache.clear()
