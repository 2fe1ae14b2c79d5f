"""Process-level benchmark: ``kwaak run-agent`` as a real process against the fake OpenAI server.

Reproduces the first rows of issue 26's side-by-side table from the repository: a fresh
``python -m kwaak run-agent -s`` (local executor) plays a trajectory of ``shell_command true``
calls served by ``tests/fakes/provider_server.py`` on 127.0.0.1 (kwaak's own HTTP client on the wire).

Figures (median over ``--runs`` launches):

- ``launch_to_first_request_s``: process start -> the first model request of any kind arrives at
  the server (the chat title and the branch name go out first, concurrently with the start);
- ``launch_to_agent_request_s``: process start -> the agent's first turn request (the one offering
  its tools) arrives: the figure the issue's target applies to here;
- ``step_gap_ms``: median interval between consecutive agent requests minus the model latency
  (tool call, hooks, commit checks and request building: kwaak's own time per step);
- ``run_s``: the whole run; ``peak_rss_mb``: the largest child's peak RSS;
- with ``--edits``: editing steps (``write_file``) with ``generate_commit_message`` on and off at
  ``--latency`` seconds per model reply, and their ratio (target: within 10 %).

Usage: ``python bench/bench_process.py [--runs 5] [--steps 20] [--latency 0] [--edits] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.provider_server import FakeProviderServer, Reply, tool_call  # noqa: E402

TARGET_LAUNCH_S = 0.3
TARGET_GAP_MS = 20.0


def make_repo(base: Path) -> Path:
    """A one-commit git repository."""
    repo = base / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@b"
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "init"]):
        if args[0] == "add":
            (repo / "hello.txt").write_text("hello\n")
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


def write_config(base: Path, url: str, *, generate: bool) -> Path:
    """kwaak.toml: both models on the fake server, local executor, no push."""
    cfg = base / f"kwaak-{int(generate)}.toml"
    cfg.write_text(
        f"""
project_name = "bench"
language = "python"
tool_executor = "local"
executor_fallback = false
cache_dir = "{base / "cache"}"
log_dir = "{base / "logs"}"
[git]
auto_push_remote = false
generate_commit_message = {"true" if generate else "false"}
[llm.indexing]
provider = "OpenAI"
api_key = "text:sk-bench"
base_url = "{url}/v1"
prompt_model = "gpt-4o-mini"
[llm.query]
provider = "OpenAI"
api_key = "text:sk-bench"
base_url = "{url}/v1"
prompt_model = "gpt-4o"
[llm.embedding]
provider = "Scripted"
"""
    )
    return cfg


def one_run(server: FakeProviderServer, repo: Path, cfg: Path, steps: list[Reply]) -> dict[str, float]:
    """Launch ``run-agent`` once; timings from the server's arrival times."""
    argv = [sys.executable, "-m", "kwaak", "run-agent", "-c", str(cfg), "-s", "-i", "run true", "--allow-dirty"]
    return launch(server, argv, repo, steps, tool="shell_command")


def launch(
    server: FakeProviderServer,
    argv: list[str],
    cwd: Path,
    steps: list[Reply],
    *,
    tool: str,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """Run one agent process against ``server``; its agent requests are those offering ``tool``."""
    server.requests.clear()
    server.enqueue(*steps)
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    ended = time.monotonic()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    requests = server.requests_to("openai")
    agent = [r.received_at for r in requests if _offers(r.body, tool)]
    latency = statistics.median(s.delay for s in steps)
    gaps = [(b - a - latency) * 1000 for a, b in zip(agent, agent[1:], strict=False)]
    return {
        "launch_to_first_request_s": min(r.received_at for r in requests) - started,
        "launch_to_agent_request_s": agent[0] - started,
        "step_gap_ms": statistics.median(gaps) if gaps else float("nan"),
        "run_s": ended - started,
    }


def _offers(body: dict[str, Any], tool: str) -> bool:
    return any(t.get("function", {}).get("name") == tool for t in body.get("tools") or [])


def trajectory(steps: int, latency: float, *, edits: bool) -> list[Reply]:
    """``steps`` tool calls (``true`` or a file write) and ``stop``, each reply after ``latency`` s
    (the fake server answers kwaak's one-off tool-calling check apart from this script)."""
    calls = [
        tool_call("write_file", file_name=f"f{i}.txt", content=f"{i}\n")
        if edits
        else tool_call("shell_command", cmd="true")
        for i in range(steps)
    ]
    return [Reply(text=c.text, tool_calls=c.tool_calls, delay=latency) for c in [*calls, tool_call("stop")]]


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median per figure."""
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> int:
    """Run and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per model reply")
    parser.add_argument("--edits", action="store_true", help="also compare generated vs fixed commit messages")
    parser.add_argument("--edit-latency", type=float, help="model latency of the --edits runs (default: --latency)")
    parser.add_argument("--edit-runs", type=int, help="runs per --edits configuration (default: --runs)")
    parser.add_argument("--peers", action="store_true", help="also run the installed peers (bench/process_peers.py)")
    parser.add_argument("--peer-bin", action="append", default=[], metavar="NAME=PATH", help="a peer's executable")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures: dict[str, Any] = {"runs": args.runs, "steps": args.steps, "latency_s": args.latency}
    server = FakeProviderServer(validate=False, tool_probe_delay=args.latency)
    with tempfile.TemporaryDirectory(prefix="kwaak-bench-proc-") as tmp, server:
        base = Path(tmp)
        server.toolless_reply = Reply(text="Run true", delay=args.latency)
        repo = make_repo(base)
        fixed, generated = write_config(base, server.url, generate=False), write_config(base, server.url, generate=True)
        runs = [
            one_run(server, repo, fixed, trajectory(args.steps, args.latency, edits=False)) for _ in range(args.runs)
        ]
        figures.update(median_of(runs))
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"run-agent -s, {args.steps} x `true`, model latency {args.latency:g} s, median of {args.runs}:")
        launch, gap = figures["launch_to_agent_request_s"], figures["step_gap_ms"]
        print(f"  launch -> first request  {figures['launch_to_first_request_s']:7.3f} s   (title, branch name)")
        print(f"  launch -> agent request  {launch:7.3f} s   (target <= {TARGET_LAUNCH_S} s)")
        print(f"  step gap                 {gap:7.1f} ms  (target <= {TARGET_GAP_MS:g} ms)")
        print(f"  whole run                {figures['run_s']:7.3f} s")
        print(f"  peak RSS (largest run)   {figures['peak_rss_mb']:7.1f} MB")
        if args.edits:
            latency = args.latency if args.edit_latency is None else args.edit_latency
            server.toolless_reply = Reply(text="Write the files", delay=latency)
            server.tool_probe_delay = latency
            figures["edit_latency_s"] = latency
            for label, cfg in (("fixed", fixed), ("generated", generated)):
                trips = [
                    one_run(server, repo, cfg, trajectory(args.steps, latency, edits=True))
                    for _ in range(args.edit_runs or args.runs)
                ]
                figures[f"edit_step_{label}_ms"] = statistics.median(r["step_gap_ms"] for r in trips)
            fixed_ms, generated_ms = figures["edit_step_fixed_ms"], figures["edit_step_generated_ms"]
            ratio = (latency * 1000 + generated_ms) / (latency * 1000 + fixed_ms)
            figures["edit_step_ratio"] = ratio
            print(
                f"  editing steps, {latency:g} s model: gap with a fixed message {fixed_ms:.1f} ms, "
                f"generated {generated_ms:.1f} ms -> step time ratio {ratio:.3f} (target <= 1.10)"
            )
        if args.peers:
            figures["peers"] = run_peers(server, base, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def run_peers(server: FakeProviderServer, base: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The same trajectory through each installed peer (``--peers``); absent peers are listed as such."""
    from bench.process_peers import PEERS, installed

    found = installed(dict(item.split("=", 1) for item in args.peer_bin))
    results: dict[str, Any] = {}
    for name in PEERS:
        if name not in found:
            print(f"  {name}: not installed, skipped")
            continue
        peer, exe = found[name]
        runs = []
        for i in range(args.runs):
            scratch = base / f"peer-{name}-{i}"
            scratch.mkdir()
            argv = peer.argv(exe, f"{server.url}/v1", "run true", scratch)
            runs.append(
                launch(
                    server,
                    argv,
                    make_repo(scratch),
                    peer.trajectory(args.steps, args.latency),
                    tool=peer.tool,
                    env=peer.env,
                )
            )
        results[name] = median_of(runs)
        row = results[name]
        print(
            f"  {name}: launch -> agent request {row['launch_to_agent_request_s']:.3f} s, "
            f"step gap {row['step_gap_ms']:.1f} ms, whole run {row['run_s']:.3f} s"
        )
    return results


if __name__ == "__main__":
    sys.exit(main())
