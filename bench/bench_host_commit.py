"""Host-side commit of an agent's worktree (``kwaak.git.commit``) on a repository of a realistic size.

kwaak's commit after each completion rebuilds the index from ``HEAD`` without the agent's cached
stat data (a sandboxed agent can forge it to hide changes), so every file is hashed again. This
measures that cost: ``has_changes`` + ``stage_all`` + ``commit_staged`` with ``--changed`` files
edited, on a repository of ``--files`` files (default 5,000 files of ~2 KB), median of ``--runs``.

Usage: ``.venv/bin/python bench/bench_host_commit.py [--files N] [--changed N] [--runs N] [--json FILE]``
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

from kwaak.git.commit import commit_staged, has_changes, stage_all
from kwaak.git.trusted import agent_git
from kwaak.git.workspace import create_workspace

ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    for i in range(files):
        path = repo / f"pkg{i % 50}" / f"m{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"def f{j}(x):\n    return x + {i * j}\n" for j in range(60)))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=repo, check=True, env={**os.environ, **ENV})
    return repo


async def run(files: int, changed: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kwaak-bench-commit-") as tmp:
        repo = make_repo(Path(tmp), files)
        ws = await create_workspace(repo, worktrees_dir=Path(tmp) / "wt", branch="kwaak/bench", session_id="b1")
        layout = agent_git(ws.path)
        times: list[float] = []
        for r in range(runs):
            for i in range(changed):
                (ws.path / f"pkg{i % 50}" / f"m{i}.py").write_text(f"# run {r}\n")
            start = time.perf_counter()
            assert await has_changes(ws.path)
            assert await stage_all(ws.path)
            assert await commit_staged(layout, f"run {r}", env=ENV)
            times.append(time.perf_counter() - start)
        return {
            "files": files,
            "changed": changed,
            "runs": runs,
            "median_s": statistics.median(times),
            "max_s": max(times),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.files, args.changed, args.runs))
    print(
        f"host commit: {result['files']} files, {result['changed']} changed: "
        f"median {result['median_s'] * 1000:.0f} ms, max {result['max_s'] * 1000:.0f} ms ({result['runs']} runs)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
