"""``kwaak batch --cluster`` on a real two-node Ray cluster bound to 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.cluster.conftest import LocalCluster
from tests.conftest import git
from tests.scripted import tool, write_scripted_config


def _tasks(repo: Path, count: int) -> Path:
    path = repo.parent / "tasks.toml"
    path.write_text("".join(f'[[task]]\nname = "t{i}"\nprompt = "task {i}"\n' for i in range(count)))
    return path


def _stream_batch(
    repo: Path, config: Path, *args: str, env: dict[str, str]
) -> tuple[list[tuple[float, dict[str, Any]]], int, str]:
    """Run ``kwaak batch`` and timestamp each JSONL line as it arrives."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kwaak", "-c", str(config), "batch", *args],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[tuple[float, dict[str, Any]]] = []
    for raw in proc.stdout:
        lines.append((time.monotonic(), json.loads(raw)))
    code = proc.wait(timeout=300)
    return lines, code, proc.stderr.read()


def test_batch_of_six_runs_on_both_nodes_and_fetches_every_branch(
    ray_cluster: LocalCluster, tmp_git_repo: Path
) -> None:
    script = [
        tool("write_file", file_name="out/result.txt", content="made on a cluster node\n"),
        tool("shell_command", cmd="sleep 2; echo slept"),
        tool("stop"),
    ]
    config = write_scripted_config(tmp_git_repo, script, extra='openai_api_key = "text:sk-cluster-secret-42"')
    tasks = _tasks(tmp_git_repo, 6)
    args = (str(tasks), "-s", "--cluster", ray_cluster.address, "--parallel", "4", "--output", "jsonl")
    lines, code, stderr = _stream_batch(tmp_git_repo, config, *args, env=ray_cluster.env)
    assert code == 0, stderr[-3000:]
    records = [r for _, r in lines]
    finished = [r for r in records if r["type"] == "task_finished"]
    assert sorted(r["name"] for r in finished) == [f"t{i}" for i in range(6)]
    assert all(r["status"] == "done" and r["exit_code"] == 0 for r in finished), finished
    # Tasks ran on both nodes: two distinct node ids, on events and on the finished records.
    events = [r for r in records if "node_id" in r]
    assert len({e["node_id"] for e in events}) == 2
    assert {e["node_ip"] for e in events} == {"127.0.0.2", "127.0.0.3"}  # loopback only
    assert len({r["node"] for r in finished}) == 2
    # Events streamed while tasks ran: some arrived before the first task finished, well before the end.
    first_finish = next(t for t, r in lines if r["type"] == "task_finished")
    last_finish = max(t for t, r in lines if r["type"] == "task_finished")
    assert any(t < first_finish and "node_id" in r for t, r in lines)
    assert any(first_finish < t < last_finish and "node_id" in r for t, r in lines)
    # Every branch arrived in the user's repository with the agent's commit; nothing was pushed.
    for record in finished:
        branch = record["branch"]
        assert branch.startswith("kwaak/")
        assert git(tmp_git_repo, "show", f"{branch}:out/result.txt") == "made on a cluster node"
        assert int(git(tmp_git_repo, "rev-list", "--count", f"main..{branch}")) >= 1
    assert "kwaak/" not in git(tmp_git_repo, "ls-remote", "origin")
    assert records[-1]["type"] == "batch_finished" and records[-1]["exit_code"] == 0
    # The `text:` API key reached the workers only through the job's runtime environment: no task's
    # logs, no GCS/raylet log hold it. Ray's own runtime-env agent logs the runtime env (env_vars
    # included) on each node: a known Ray behaviour, documented in docs/cluster.md.
    logs = [p for p in ray_cluster.temp_dir.rglob("*") if p.is_file() and p.suffix in (".log", ".out", ".err")]
    assert any(p.name.startswith("worker-") for p in logs)
    leaked = {p.name for p in logs if b"sk-cluster-secret-42" in p.read_bytes()}
    assert {name for name in leaked if not name.startswith("runtime_env_agent")} == set()


def test_batch_through_ray_client(ray_cluster: LocalCluster, tmp_git_repo: Path) -> None:
    """``--cluster ray://HEAD:PORT``: the driver talks to the cluster through Ray Client only."""
    script = [tool("write_file", file_name="out/client.txt", content="via ray client\n"), tool("stop")]
    config = write_scripted_config(tmp_git_repo, script)
    tasks = _tasks(tmp_git_repo, 2)
    env = {k: v for k, v in ray_cluster.env.items() if k != "RAY_ADDRESS"}
    args = (str(tasks), "-s", "--cluster", ray_cluster.client_address, "--output", "jsonl")
    lines, code, stderr = _stream_batch(tmp_git_repo, config, *args, env=env)
    assert code == 0, stderr[-3000:]
    finished = [r for _, r in lines if r["type"] == "task_finished"]
    assert [r["status"] for r in finished] == ["done", "done"]
    assert any("node_id" in r for _, r in lines)
    for record in finished:
        assert git(tmp_git_repo, "show", f"{record['branch']}:out/client.txt") == "via ray client"


def test_task_arguments_carry_no_secret(tmp_git_repo: Path) -> None:
    """What Ray stores and may log for a task (its pickled arguments) has `env:` names, never values."""
    import pickle

    from kwaak.cluster.portable import portable_config, worker_config
    from kwaak.cluster.worker import TaskSpec
    from kwaak.config.loader import load_config
    from kwaak.headless.batch import BatchTask, batch_jobs

    config_path = write_scripted_config(tmp_git_repo, [tool("stop")], extra='openai_api_key = "text:sk-arg-secret-7"')
    config = load_config(tmp_git_repo, config_path=config_path)
    data, env = portable_config(config)
    spec = TaskSpec(job=batch_jobs([BatchTask(prompt="x")])[0], start_commit="0" * 40, config=data, index=False)
    assert b"sk-arg-secret-7" not in pickle.dumps(spec)
    assert data["openai_api_key"].startswith("env:KWAAK_CLUSTER_SECRET_")
    assert list(env.values()) == ["sk-arg-secret-7"]
    # On the worker the key resolves from the runtime environment's variables.
    import os

    os.environ.update(env)
    try:
        restored = worker_config(data, tmp_git_repo, tmp_git_repo.parent / "scratch")
    finally:
        for name in env:
            os.environ.pop(name, None)
    assert restored.openai_api_key is not None and restored.openai_api_key.reveal() == "sk-arg-secret-7"
    assert restored.git.auto_push_remote is False


def test_killed_worker_node_mid_run_every_task_done_elsewhere_or_failed(
    ray_cluster: LocalCluster, tmp_git_repo: Path
) -> None:
    victim = "127.0.0.4"
    ray_cluster.start_worker(ip=victim)
    script = [
        tool("write_file", file_name="out/result.txt", content="survived\n"),
        tool("shell_command", cmd="sleep 5; echo slept"),
        tool("stop"),
    ]
    config = write_scripted_config(tmp_git_repo, script, extra="[cluster]\nmax_retries = 2")
    tasks = _tasks(tmp_git_repo, 6)
    args = (str(tasks), "-s", "--cluster", ray_cluster.address, "--parallel", "6", "--output", "jsonl")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kwaak", "-c", str(config), "batch", *args],
        cwd=tmp_git_repo,
        env=ray_cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    records: list[dict[str, Any]] = []
    killed = False
    for raw in proc.stdout:
        record = json.loads(raw)
        records.append(record)
        if not killed and record.get("node_ip") == victim and record.get("type") == "tool_call_started":
            ray_cluster.kill_node(victim)
            killed = True
    code = proc.wait(timeout=300)
    stderr = proc.stderr.read()
    assert killed, "no task started on the node to kill"
    finished = [r for r in records if r["type"] == "task_finished"]
    assert sorted(r["name"] for r in finished) == [f"t{i}" for i in range(6)], stderr[-2000:]
    for record in finished:
        if record["status"] == "done":
            assert not record["node"].startswith(victim)  # re-run on a surviving node
            assert git(tmp_git_repo, "show", f"{record['branch']}:out/result.txt") == "survived"
        else:
            assert record["error_kind"] == "cluster" and record["error"], record
    assert code in (0, 1)
    assert len([r for r in finished if r["status"] == "done"]) >= 4, finished
    # The tasks that were running on the killed node ended on another node, or failed with the reason.
    on_victim = {r["session_id"] for r in records if r.get("node_ip") == victim}
    assert on_victim
    for record in finished:
        if record["session_id"] in on_victim:
            assert record["status"] != "done" or not record["node"].startswith(victim)
    print(
        "tasks moved off the killed node:",
        sum(r["session_id"] in on_victim and r["status"] == "done" for r in finished),
    )


def test_sigint_on_the_driver_cancels_every_task_and_leaves_no_scratch(
    ray_cluster: LocalCluster, tmp_git_repo: Path
) -> None:
    import signal
    import tempfile

    scratch_root = Path(tempfile.gettempdir())
    before = set(scratch_root.glob("kwaak-ray-task-*"))
    script = [tool("shell_command", cmd="sleep 60; echo never"), tool("stop")]
    config = write_scripted_config(tmp_git_repo, script)
    tasks = _tasks(tmp_git_repo, 4)
    args = (str(tasks), "-s", "--cluster", ray_cluster.address, "--parallel", "4", "--output", "jsonl")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kwaak", "-c", str(config), "batch", *args],
        cwd=tmp_git_repo,
        env=ray_cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    records: list[dict[str, Any]] = []
    started: set[str] = set()
    sent_at = 0.0
    for raw in proc.stdout:
        record = json.loads(raw)
        records.append(record)
        if record.get("type") == "tool_call_started":
            started.add(record["session_id"])
            if len(started) == 4 and not sent_at:
                proc.send_signal(signal.SIGINT)
                sent_at = time.monotonic()
    code = proc.wait(timeout=120)
    assert sent_at, proc.stderr.read()[-2000:]
    assert code == 130
    assert time.monotonic() - sent_at < 50  # not the tasks' 60 s sleeps
    finished = [r for r in records if r["type"] == "task_finished"]
    assert len(finished) == 4 and {r["status"] for r in finished} == {"interrupted"}
    assert records[-1]["type"] == "batch_finished" and records[-1]["exit_code"] == 130
    # The workers removed their scratch clones (and the worktrees in them).
    deadline = time.monotonic() + 30
    while set(scratch_root.glob("kwaak-ray-task-*")) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not set(scratch_root.glob("kwaak-ray-task-*")) - before
    # ... and killed the agents' tool processes.
    leftovers = [
        proc_dir.name
        for proc_dir in Path("/proc").iterdir()
        if proc_dir.name.isdigit() and b"sleep 60; echo never" in _cmdline(proc_dir)
    ]
    assert not leftovers


def _cmdline(proc_dir: Path) -> bytes:
    try:
        return (proc_dir / "cmdline").read_bytes()
    except OSError:
        return b""


def test_task_without_commits_reports_done_and_fetches_nothing(ray_cluster: LocalCluster, tmp_git_repo: Path) -> None:
    """Also: text output (lines prefixed per task, the summary's node column) and `--cluster auto`."""
    config = write_scripted_config(tmp_git_repo, [tool("shell_command", cmd="echo look only"), tool("stop")])
    tasks = _tasks(tmp_git_repo, 2)
    out = subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(config), "batch", str(tasks), "-s", "--cluster", "auto"],
        cwd=tmp_git_repo,
        env=ray_cluster.env,  # RAY_ADDRESS names the cluster
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[t0]" in out.stdout and "[t1] finished: done" in out.stdout
    header = next(line for line in out.stdout.splitlines() if line.startswith("task "))
    assert header.split()[-1] == "node" and "2/2 tasks completed" in out.stdout
    assert "127.0.0." in out.stdout.split(header)[1]
    assert "on the Ray cluster at auto" in out.stderr


def test_cluster_usage_errors_are_one_line(tmp_git_repo: Path, monkeypatch: Any) -> None:
    from kwaak.cluster.driver import import_ray
    from kwaak.errors import KwaakError

    config = write_scripted_config(tmp_git_repo, [tool("stop")])
    tasks = tmp_git_repo.parent / "pr.toml"
    tasks.write_text('[[task]]\nprompt = "x"\npull_request = true\n')
    out = subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(config), "batch", str(tasks), "--cluster", "auto"],
        cwd=tmp_git_repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "pull_request" in out.stderr and "Traceback" not in out.stderr
    monkeypatch.setitem(sys.modules, "ray", None)
    try:
        import_ray()
    except KwaakError as exc:
        assert "kwaak[ray]" in (exc.hint or "")
    else:
        raise AssertionError("no error without ray")
