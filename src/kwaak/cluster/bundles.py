"""Git bundles both ways: the start commit to the workers, the agents' commits back to the driver.

Host git runs with :func:`kwaak.git.trusted.safe_config_args` (no hooks, no fsmonitor, no
submodule recursion); the driver only ever fetches one named branch from a returned bundle into
``refs/heads/kwaak/...``, never another ref, and never pushes.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from kwaak.errors import GitError
from kwaak.git.cli import INHERITED_REPO_VARS
from kwaak.git.trusted import safe_config_args

BRANCH = re.compile(r"kwaak/[A-Za-z0-9_][A-Za-z0-9._-]{0,119}")
"""The only branch names the driver accepts back from a worker."""
START_REF = "refs/kwaak-cluster/start"


def git(repo: Path, *args: str, input_bytes: bytes | None = None, timeout: float = 300) -> bytes:
    """Run hardened ``git`` in ``repo`` and return its stdout.

    Raises:
        GitError: git failed (with its last stderr line).
    """
    import os

    env = {k: v for k, v in os.environ.items() if k not in INHERITED_REPO_VARS}
    env |= {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1"}
    proc = subprocess.run(
        ["git", *safe_config_args(), *args],
        cwd=repo,
        env=env,
        input=input_bytes,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        msg = f"git {args[0]} failed: {detail[0]}"
        raise GitError(msg, hint="see the log file for the full git output")
    return proc.stdout


def start_bundle(repo: Path, start: str) -> tuple[bytes, str]:
    """``(bundle bytes, commit)``: the history of ``start`` (a ref such as ``HEAD``) as a git bundle."""
    commit = git(repo, "rev-parse", "--verify", f"{start}^{{commit}}").decode().strip()
    with tempfile.TemporaryDirectory(prefix="kwaak-bundle-") as tmp:
        path = Path(tmp) / "start.bundle"
        git(repo, "bundle", "create", "--quiet", str(path), start)
        return path.read_bytes(), commit


def materialize(bundle: bytes, commit: str, dest: Path) -> Path:
    """A repository at ``dest`` cloned from ``bundle``, its checkout detached at ``commit``."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "start.bundle"
    path.write_bytes(bundle)
    repo = dest / "repo"
    git(dest, "clone", "--quiet", "--no-checkout", str(path), str(repo))
    git(repo, "checkout", "--quiet", "--detach", commit)
    path.unlink()
    return repo


def _valid(branch: str) -> bool:
    return BRANCH.fullmatch(branch) is not None and ".." not in branch and not branch.endswith((".", ".lock"))


def has_branch(repo: Path, branch: str) -> bool:
    """Whether ``refs/heads/<branch>`` exists (the backend removes an agent's branch with no commits)."""
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    except GitError:
        return False
    return True


def result_bundle(repo: Path, branch: str, base: str) -> bytes | None:
    """The agent's commits on ``branch`` after ``base`` as a bundle (``None``: no new commits)."""
    if not _valid(branch):
        msg = f"unexpected branch name {branch!r}"
        raise GitError(msg, hint="agents' branches are named kwaak/<slug>-<id8>")
    ahead = int(git(repo, "rev-list", "--count", f"{base}..refs/heads/{branch}").decode().strip() or "0")
    if ahead == 0:
        return None
    with tempfile.TemporaryDirectory(prefix="kwaak-bundle-") as tmp:
        path = Path(tmp) / "result.bundle"
        git(repo, "bundle", "create", "--quiet", str(path), f"refs/heads/{branch}", "--not", base)
        return path.read_bytes()


def fetch_result(repo: Path, branch: str, bundle: bytes | None, base: str) -> str:
    """Create ``branch`` in the user's repository from a worker's bundle (or at ``base``); its tip.

    Raises:
        GitError: a bad branch name, an existing branch, or a bundle git refuses.
    """
    if not _valid(branch):
        msg = f"a worker returned an unexpected branch name {branch!r}"
        raise GitError(msg, hint="agents' branches are named kwaak/<slug>-<id8>")
    ref = f"refs/heads/{branch}"
    if bundle is None:
        git(repo, "update-ref", ref, base, "0" * 40)
        return base
    with tempfile.TemporaryDirectory(prefix="kwaak-bundle-") as tmp:
        path = Path(tmp) / "result.bundle"
        path.write_bytes(bundle)
        # Only the one branch, only into a branch that does not exist yet (no `+`: never forced).
        git(repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", str(path), f"{ref}:{ref}")
    return git(repo, "rev-parse", "--verify", ref).decode().strip()
