"""Push an agent's branch, authenticating with a GitHub token without ever storing it.

kwaak 0.16.2 wrote ``https://x-access-token:<token>@...`` into the container's remote URL. We
pass the token only through the environment of the one ``git push`` process: git reads
``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` as command-line configuration,
so an ``http.<url>.extraHeader`` scoped to the remote's host carries the credentials. Nothing is
written to the remote URL, ``.git/config``, the workspace or any other file.

The push runs on the repository's common git dir that kwaak computed (:mod:`kwaak.git.trusted`),
never through the agent's worktree: the remote's URL is the one in the user's repository config
(the agent cannot redirect it with a fake ``.git`` pointer or a ``config.worktree``), the branch
pushed is the ref kwaak names, and the token goes only to that URL's host.

SSH remotes (``git@github.com:owner/repo``) are pushed over HTTPS when a token is given, through a
``url.<https>.pushInsteadOf`` rule in the same environment, so the remote itself is not changed.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from pathlib import Path

from kwaak.errors import GitError
from kwaak.git.trusted import agent_git

_SCP_LIKE = re.compile(r"^(?P<user>[^@/:]+@)?(?P<host>[^/:]+):(?!//)(?P<path>.+)$")
_SSH_URL = re.compile(r"^ssh://(?P<user>[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>.+)$")
_HTTP_URL = re.compile(r"^(?P<scheme>https?)://(?:[^@/]+@)?(?P<host>[^/]+)/")


async def push_branch(
    repo: Path,
    branch: str,
    *,
    remote: str = "origin",
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> None:
    """Push ``branch`` to ``remote`` and set it as the branch's upstream.

    Args:
        repo: Any work tree of the repository (an agent's worktree is fine).
        branch: The local branch to push (same name on the remote).
        remote: The remote's name.
        token: A GitHub token for HTTPS remotes; only ever placed in the push's environment.
        env: Extra environment for git (e.g. the agent identity).
        timeout: Seconds before the push is abandoned.

    Raises:
        GitError: the remote does not exist, rejected the push, or authentication failed.
    """
    url = await remote_url(repo, remote)
    push_env = {**(env or {}), **auth_env(url, token, base=os.environ)}
    result = await agent_git(repo).run_common(
        "push",
        "--set-upstream",
        remote,
        f"refs/heads/{branch}:refs/heads/{branch}",
        check=False,
        env=push_env,
        timeout=timeout,
    )
    if not result.ok:
        raise _push_error(remote, branch, result.stderr or result.stdout, token)


async def remote_url(repo: Path, remote: str) -> str:
    """The push URL of ``remote``.

    Raises:
        GitError: no such remote.
    """
    result = await agent_git(repo).run_common("remote", "get-url", "--push", remote, check=False)
    if not result.ok:
        msg = f"cannot push: the repository has no remote named {remote!r}"
        raise GitError(msg, hint=f"add it with `git remote add {remote} <url>` or set `git.auto_push_remote = false`")
    return result.stdout.strip()


async def has_remote(repo: Path, remote: str) -> bool:
    """Whether ``remote`` is configured."""
    return (await agent_git(repo).run_common("remote", "get-url", remote, check=False)).ok


def auth_env(url: str, token: str | None, *, base: Mapping[str, str]) -> dict[str, str]:
    """Environment variables that authenticate git against ``url``'s host with ``token``.

    Existing ``GIT_CONFIG_COUNT`` entries in ``base`` are preserved (ours are appended).
    """
    entries: list[tuple[str, str]] = []
    https_base = _https_base(url)
    if token and https_base:
        if not url.startswith(("http://", "https://")):
            entries.append((f"url.{https_base}.pushInsteadOf", _ssh_prefix(url)))
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        entries.append((f"http.{https_base}.extraHeader", f"Authorization: Basic {basic}"))
    env = {"GIT_TERMINAL_PROMPT": "0"}
    if not entries:
        return env
    start = int(base.get("GIT_CONFIG_COUNT", "0") or 0)
    for offset, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{start + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(start + len(entries))
    return env


def _https_base(url: str) -> str | None:
    """``scheme://host/`` that the token applies to (SSH remotes map to ``https://host/``)."""
    if match := _HTTP_URL.match(url):
        return f"{match['scheme']}://{match['host']}/"
    if (match := _SSH_URL.match(url)) or (match := _SCP_LIKE.match(url)):
        return f"https://{match['host']}/"
    return None


def _ssh_prefix(url: str) -> str:
    """The part of an SSH URL that ``pushInsteadOf`` replaces by ``https://host/``."""
    if match := _SSH_URL.match(url):
        return url[: match.start("path")]
    match = _SCP_LIKE.match(url)
    return url[: match.start("path")] if match else url


def _push_error(remote: str, branch: str, output: str, token: str | None) -> GitError:
    text = redact(output.strip(), token)
    lower = text.lower()
    msg = f"pushing {branch!r} to {remote!r} failed: {text}"
    if any(s in lower for s in ("authentication failed", "could not read username", "403", "401", "permission")):
        hint = "check that `github_api_key` is set and may push to the repository"
    elif "rejected" in lower or "non-fast-forward" in lower or "fetch first" in lower:
        hint = f"the remote branch has diverged; inspect it with `git fetch {remote}` before pushing again"
    elif "could not resolve host" in lower or "unable to access" in lower or "connection" in lower:
        hint = "check the network connection and the remote URL (`git remote -v`)"
    else:
        hint = "run the same `git push` by hand in the agent's worktree to see more"
    return GitError(msg, hint=hint, cmd=f"git push {remote} {branch}", stderr=text)


def redact(text: str, token: str | None) -> str:
    """Replace the token (and its Basic-auth encoding) in ``text`` by ``****``."""
    if not token:
        return text
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return text.replace(token, "****").replace(basic, "****")
