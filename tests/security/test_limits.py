"""A7 (executor part): an agent's commands are bounded in processes, memory and file size, hold no
capabilities, cannot gain privileges and have no network unless enabled — under ``sandbox`` and
``docker``, driven by a scripted hostile model through ``kwaak run-agent`` with small ``[limits]``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from kwaak.config.model import LimitsConfig
from kwaak.executors.rlimits import MIB, ResourceLimits, docker_limit_args, rlimit_prefix, user_tasks
from tests.security.agent_cli import call, require_executor, run_agent, shell

LIMITS = """
[limits]
max_processes = 64
max_memory_mb = 256
max_file_size_mb = 8
tool_timeout_sec = 60
"""
ISOLATED = [
    pytest.param("sandbox", marks=pytest.mark.sandbox),
    pytest.param("docker", marks=pytest.mark.docker),
]
PROBE = (
    "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; "
    "echo ifaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '); "
    "grep -E 'Max (processes|address space|file size)' /proc/self/limits; "
    # cgroup v2, else v1
    "echo pids.max=$(cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null)"
    " memory.max=$(cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"
)
BIG_FILE = 'head -c 20000000 /dev/zero > big.bin; echo "head=$?"; echo size=$(wc -c < big.bin); rm -f big.bin'
BIG_MEMORY = 'head -c 600000000 /dev/zero | tail -n 1 > /dev/null; echo "tail=$?"'
# Only builtins between the spawns and the kills: a fork bomb leaves no room for `$(...)`.
MANY_PROCS = (
    ": > p.txt; for i in $(seq 150); do sleep 30 & echo $! >> p.txt; done; "
    "while read p; do kill $p 2>/dev/null; done < p.txt; sleep 1; echo running=$(sort -u p.txt | wc -l); rm -f p.txt"
)


def test_a7_0_limits_map_to_docker_arguments() -> None:
    limits = ResourceLimits.from_config(
        LimitsConfig(max_processes=10, max_memory_mb=2, max_file_size_mb=1, container_capabilities=("cap_chown",))
    )
    args = docker_limit_args(limits, network=False)
    assert args[:4] == ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    assert args[4:6] == ["--cap-add", "CHOWN"]
    joined = " ".join(args)
    assert "--pids-limit 10" in joined and f"--memory {2 * MIB}b --memory-swap {2 * MIB}b" in joined
    assert f"--ulimit fsize={MIB}:{MIB}" in joined and joined.endswith("--network none")
    assert "--network" not in docker_limit_args(limits, network=True)
    unlimited = ResourceLimits.from_config(LimitsConfig(max_processes=None, max_memory_mb=None, max_file_size_mb=None))
    assert docker_limit_args(unlimited, network=True) == ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    assert rlimit_prefix(unlimited) == []
    nproc, address_space, file_size = (int(v) for v in rlimit_prefix(limits)[4:7])
    assert 10 < nproc < 10 + user_tasks() + 200 and address_space == 2 * MIB and file_size == MIB


@pytest.mark.parametrize("executor", ISOLATED)
def test_a7_resource_abuse_is_bounded(tmp_git_repo: Path, executor: str, request: pytest.FixtureRequest) -> None:
    require_executor(executor, request, tmp_git_repo)
    script = [shell(PROBE), shell(BIG_FILE), shell(BIG_MEMORY), shell(MANY_PROCS), shell("echo alive"), call("stop")]
    run = run_agent(tmp_git_repo, script, executor=executor, extra=LIMITS)
    assert run.code == 0, run.stderr[-3000:]
    probe, big_file, big_memory, procs, alive = run.tool_outputs()[:5]

    # A7.1 no capabilities, no privilege gain, no network (only loopback).
    assert re.search(r"CapEff:\s+0+\b", probe), probe
    assert re.search(r"NoNewPrivs:\s+1", probe), probe
    assert re.search(r"ifaces: lo\s*$", probe, re.M), probe
    # A7.2 a file cannot grow past max_file_size_mb.
    assert "head=0" not in big_file, big_file
    size = int(re.search(r"size=(\d+)", big_file).group(1))  # type: ignore[union-attr]
    assert size <= 8 * MIB, big_file
    # A7.3 memory is bounded: a 600 MB buffer fails (RLIMIT_AS in the sandbox, the cgroup's OOM killer in docker).
    assert "tail=0" not in big_memory, big_memory
    # A7.4 processes are bounded.
    if executor == "docker":
        assert "pids.max=64" in probe and f"memory.max={256 * MIB}" in probe, probe
        # dash gives up at the first fork the pids cgroup refuses; else it counts what it started.
        counted = re.search(r"running=(\d+)", procs)
        assert (counted is None and "fork" in procs.lower()) or (counted and int(counted.group(1)) <= 64), procs
    else:
        # RLIMIT_NPROC counts all the user's tasks: the limit is their count at the start plus 64.
        nproc = int(re.search(r"Max processes\s+(\d+)\s+\d+", probe).group(1))  # type: ignore[union-attr]
        assert 64 < nproc <= 64 + user_tasks() + 200, probe
        assert re.search(rf"Max address space\s+{256 * MIB}\s+{256 * MIB}", probe), probe
        if os.geteuid() != 0:
            running = int(re.search(r"running=(\d+)", procs).group(1))  # type: ignore[union-attr]
            assert running <= 64 + 32, procs  # other processes of the user come and go meanwhile
        # As root, Linux does not enforce RLIMIT_NPROC (documented in docs/security.md).
    assert "alive" in alive
