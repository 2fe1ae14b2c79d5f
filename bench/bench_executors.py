"""Per-command overhead of our executors against the raw mechanism they wrap.

Run: .venv/bin/python bench/bench_executors.py [N] [--json FILE]

For each executor, the median wall time of N runs of ``true``:

* LocalExecutor.exec(["true"])   vs  asyncio.create_subprocess_exec("true")
* SandboxExecutor.exec(["true"]) vs  raw ``bwrap`` with the minimal tested isolation line
* DockerExecutor.exec(["true"])  vs  raw ``docker exec <container> true``

Targets: docker ≤ 1.2× raw ``docker exec``; local overhead of a few milliseconds at most.
Rows whose mechanism is unavailable (no bwrap, no docker daemon / ``kwaak-test-base`` image) are
reported as skipped.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from kwaak.config import Config, validate_config
from kwaak.errors import KwaakError
from kwaak.executors.docker import DockerExecutor
from kwaak.executors.local import LocalExecutor
from kwaak.executors.sandbox import SandboxExecutor
from kwaak.git.workspace import create_workspace

IMAGE = "kwaak-test-base"


async def paired_ms(
    ours: Callable[[], Awaitable[object]], raw: Callable[[], Awaitable[object]], n: int
) -> tuple[float, float]:
    """Median wall times in ms of ``ours`` and ``raw``, run alternately (after two warm-ups each)."""
    for _ in range(2):
        await ours()
        await raw()
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        for fn, sink in ((ours, a), (raw, b)):
            start = time.perf_counter()
            await fn()
            sink.append((time.perf_counter() - start) * 1000)
    return statistics.median(a), statistics.median(b)


async def raw(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
    )
    await proc.communicate()


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    env = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "Dockerfile").write_text(f"FROM {IMAGE}\n")
    (repo / "README.md").write_text("bench\n")
    subprocess.run(["git", *env, "add", "."], cwd=repo, check=True)
    subprocess.run(["git", *env, "commit", "-q", "-m", "init"], cwd=repo, check=True)
    return repo


def make_config(repo: Path) -> Config:
    roles = {role: {"provider": "Scripted"} for role in ("indexing", "query", "embedding")}
    data = {
        "project_name": "bench",
        "language": "python",
        "llm": roles,
        "commands": {},
        "git": {"auto_push_remote": False},
        "cache_dir": str(repo.parent / "cache"),
        "log_dir": str(repo.parent / "logs"),
    }
    return validate_config(data, root=repo)


Row = tuple[str, float | None, float | None, str]


async def bench_local(path: Path, n: int) -> Row:
    ex = LocalExecutor(path)
    ours, base = await paired_ms(lambda: ex.exec(["true"]), lambda: raw("true"), n)
    return ("local", ours, base, "asyncio subprocess `true`")


async def bench_sandbox(path: Path, n: int) -> Row:
    bwrap = shutil.which("bwrap")
    try:
        ex = await SandboxExecutor.create(path)
    except KwaakError as exc:
        return ("sandbox", None, None, f"skipped: {exc.message}")
    assert bwrap is not None
    p = str(path)
    line = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", p, p]
    line += ["--chdir", p, "--unshare-all", "--die-with-parent", "--new-session", "true"]
    ours, base = await paired_ms(lambda: ex.exec(["true"]), lambda: raw(bwrap, *line), n)
    return ("sandbox", ours, base, "raw `bwrap --ro-bind / / ... --unshare-all true`")


async def bench_docker(config: Config, repo: Path, path: Path, n: int) -> Row:
    try:
        ex = await DockerExecutor.start(config, path, session_id="bench", repo_root=repo)
    except KwaakError as exc:
        return ("docker", None, None, f"skipped: {exc.message.splitlines()[0]}")
    try:
        ours, base = await paired_ms(lambda: ex.exec(["true"]), lambda: raw("docker", "exec", ex.container, "true"), n)
    finally:
        await ex.aclose()
    return ("docker", ours, base, "raw `docker exec <ctr> true`")


def print_table(rows: list[Row], n: int) -> None:
    print(f"\nper-command overhead, median of {n} x `true` (ms)\n")
    print(f"{'executor':<9} {'ours':>9} {'raw':>9} {'ratio':>7} {'delta':>8}  baseline")
    for name, ours, base, note in rows:
        if ours is None or base is None:
            print(f"{name:<9} {'-':>9} {'-':>9} {'-':>7} {'-':>8}  {note}")
            continue
        print(f"{name:<9} {ours:>9.2f} {base:>9.2f} {ours / base:>6.2f}x {ours - base:>+8.2f}  {note}")


async def main(n: int, json_path: Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="kwaak-bench-") as tmp:
        repo = make_repo(Path(tmp))
        config = make_config(repo)
        ws = await create_workspace(repo, worktrees_dir=Path(tmp) / "wt", branch="kwaak/bench-1", session_id="bench")
        rows = [
            await bench_local(ws.path, n),
            await bench_sandbox(ws.path, n),
            await bench_docker(config, repo, ws.path, max(10, n // 4)),
        ]
    print_table(rows, n)
    if json_path is not None:  # for bench/run_all.py
        data = {name: {"ours_ms": ours, "raw_ms": base, "note": note} for name, ours, base, note in rows}
        json_path.write_text(json.dumps({"runs": n, "executors": data}, indent=2))


if __name__ == "__main__":
    argv = sys.argv[1:]
    out = Path(argv.pop(argv.index("--json") + 1)) if "--json" in argv else None
    argv = [a for a in argv if a != "--json"]
    asyncio.run(main(int(argv[0]) if argv else 100, out))
