"""The bundles of ``batch --cluster`` (no Ray needed): a worker's bundle is untrusted input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kwaak.cluster import bundles
from kwaak.errors import GitError
from tests.conftest import git


def _worker_clone(repo: Path, tmp_path: Path) -> tuple[Path, str]:
    blob, commit = bundles.start_bundle(repo, "HEAD")
    clone = bundles.materialize(blob, commit, tmp_path / "worker")
    assert git(clone, "rev-parse", "HEAD") == commit
    return clone, commit


def _commit(clone: Path, branch: str, name: str) -> None:
    git(clone, "checkout", "-q", "-B", branch)
    (clone / name).write_text(f"{name}\n")
    git(clone, "add", name)
    git(clone, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-q", "-m", name)


def test_round_trip_fetches_only_the_named_branch(tmp_git_repo: Path, tmp_path: Path) -> None:
    clone, base = _worker_clone(tmp_git_repo, tmp_path)
    _commit(clone, "kwaak/fix-abcd1234", "agent.txt")
    # The hostile worker also moves `main` in its clone and ships it in the same bundle.
    git(clone, "update-ref", "refs/heads/main", "refs/heads/kwaak/fix-abcd1234")
    path = tmp_path / "evil.bundle"
    git(clone, "bundle", "create", "-q", str(path), "refs/heads/kwaak/fix-abcd1234", "refs/heads/main", "--not", base)
    main_before = git(tmp_git_repo, "rev-parse", "main")
    tip = bundles.fetch_result(tmp_git_repo, "kwaak/fix-abcd1234", path.read_bytes(), base)
    assert git(tmp_git_repo, "show", "kwaak/fix-abcd1234:agent.txt") == "agent.txt"
    assert tip == git(tmp_git_repo, "rev-parse", "kwaak/fix-abcd1234")
    assert git(tmp_git_repo, "rev-parse", "main") == main_before
    assert bundles.result_bundle(clone, "kwaak/fix-abcd1234", base) is not None


@pytest.mark.parametrize(
    "branch",
    ["main", "kwaak/../main", "refs/heads/kwaak/x", "kwaak/x\n", "kwaak/a b", "kwaak/..", "kwaak/-x", "kwaak/x.lock"],
)
def test_unexpected_branch_names_are_refused(tmp_git_repo: Path, branch: str) -> None:
    with pytest.raises(GitError, match="unexpected branch name"):
        bundles.fetch_result(tmp_git_repo, branch, None, git(tmp_git_repo, "rev-parse", "HEAD"))


def test_fetch_runs_no_hook_and_never_forces(tmp_git_repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    hooks = tmp_git_repo / ".git" / "hooks"
    for name in ("reference-transaction", "post-checkout", "post-merge"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / name).chmod(0o755)
    clone, base = _worker_clone(tmp_git_repo, tmp_path)
    _commit(clone, "kwaak/one-11111111", "one.txt")
    bundle = bundles.result_bundle(clone, "kwaak/one-11111111", base)
    bundles.fetch_result(tmp_git_repo, "kwaak/one-11111111", bundle, base)
    assert not marker.exists()
    # A second bundle rewriting the same branch (not a fast-forward) is refused, not forced.
    other, _ = _worker_clone(tmp_git_repo, tmp_path / "second")
    _commit(other, "kwaak/one-11111111", "two.txt")
    with pytest.raises(GitError):
        bundles.fetch_result(
            tmp_git_repo, "kwaak/one-11111111", bundles.result_bundle(other, "kwaak/one-11111111", base), base
        )
    assert git(tmp_git_repo, "show", "kwaak/one-11111111:one.txt") == "one.txt"


def test_no_commits_means_no_bundle_and_a_branch_at_the_base(tmp_git_repo: Path, tmp_path: Path) -> None:
    clone, base = _worker_clone(tmp_git_repo, tmp_path)
    git(clone, "branch", "kwaak/idle-22222222")
    assert bundles.result_bundle(clone, "kwaak/idle-22222222", base) is None
    assert bundles.fetch_result(tmp_git_repo, "kwaak/idle-22222222", None, base) == base
    assert (
        subprocess.run(["git", "rev-parse", "kwaak/idle-22222222"], cwd=tmp_git_repo, capture_output=True).returncode
        == 0
    )


def test_scratch_of_dead_workers_is_swept_live_ones_kept(tmp_path: Path) -> None:
    import os

    from kwaak.cluster.worker import SCRATCH_PREFIX, sweep_scratch

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"{SCRATCH_PREFIX}{gone.pid}-abc"
    live = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-def"
    for path in (dead, live):
        (path / "repo").mkdir(parents=True)
    (tmp_path / "victim").mkdir()
    link = tmp_path / f"{SCRATCH_PREFIX}{gone.pid}-link"
    link.symlink_to(tmp_path / "victim")  # never followed
    assert sweep_scratch(tmp_path) == [dead]
    assert live.is_dir() and (tmp_path / "victim").is_dir() and not dead.exists()
