"""Landing benchmark: review and land many agent branches on a repository of a realistic size.

A repository of ``--files`` files (default 5,000) gets ``--agents`` branches (default 10), each
changing 20 files of its own plus 3 commits. Measured per branch: ``review_branch`` (files, hunks,
commits) and ``land`` as squash, merge and rebase, with the user's checkout on the base (so it
is moved too) — the cost a user waits for after pressing ``s`` in ``/review``.

Usage: ``.venv/bin/python bench/bench_land.py [--files N] [--agents N] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from kwaak.git.land import LAND_MODES, land
from kwaak.git.review import review_branch

ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **ENV})


def make_repo(root: Path, files: int, agents: int) -> Path:
    """The repository and one branch per agent (built with plain git, like agents' commits)."""
    repo = root / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        path = repo / f"pkg{i % 50}" / f"m{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"def f{j}():\n    return {j}\n\n" for j in range(20)))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "init")
    for a in range(agents):
        wt = root / f"wt{a}"
        _git(repo, "worktree", "add", "-q", "-b", f"kwaak/agent-{a}", str(wt), "main")
        for c in range(3):
            for k in range(20):
                path = wt / f"pkg{(a * 20 + k) % 50}" / f"m{a * 20 + k}.py"
                path.write_text(path.read_text() + f"\n\ndef agent_{a}_{c}():\n    return {c}\n")
            _git(wt, "commit", "-q", "-am", f"agent {a} step {c}")
        _git(repo, "worktree", "remove", "--force", str(wt))
    return repo


async def measure(repo: Path, agents: int) -> dict[str, Any]:
    """Seconds per review and per landing (modes in turn), median and max."""
    reviews: list[float] = []
    lands: dict[str, list[float]] = {mode: [] for mode in LAND_MODES}
    for a in range(agents):
        branch = f"kwaak/agent-{a}"
        t0 = time.perf_counter()
        review = await review_branch(repo, branch=branch, base="main")
        reviews.append(time.perf_counter() - t0)
        assert len(review.files) == 20 and len(review.commits) == 3
        mode = LAND_MODES[a % len(LAND_MODES)]
        t0 = time.perf_counter()
        await land(repo, branch=branch, base="main", mode=mode, message=f"land {a}")
        lands[mode].append(time.perf_counter() - t0)

    def stats(values: list[float]) -> dict[str, float]:
        return {"median_ms": round(statistics.median(values) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}

    return {"review": stats(reviews), **{f"land_{m}": stats(v) for m, v in lands.items() if v}}


def main() -> None:
    """Build the repository, measure, print (and optionally write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kwaak-bench-land-") as tmp:
        repo = make_repo(Path(tmp), args.files, args.agents)
        results = asyncio.run(measure(repo, args.agents))
    results = {"files": args.files, "agents": args.agents, **results}
    for key, value in results.items():
        print(f"{key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
