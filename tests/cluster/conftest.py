"""A real two-node Ray cluster on 127.0.0.1 (a head and a second raylet), for ``batch --cluster``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the `ray` extra is not installed: pip install -e '.[ray]' (cluster tests SKIPPED)")

RAY = str(Path(sys.executable).parent / "ray")
LOOPBACK_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}
# Ray (2.60) rewrites the address 127.0.0.1 (and `localhost`) into the machine's outward address in
# multi-node mode, so the nodes use other loopback addresses, which it keeps: head 127.0.0.2, second
# node 127.0.0.3. Everything stays on the loopback interface.
HEAD_IP = "127.0.0.2"
WORKER_IP = "127.0.0.3"


@dataclass
class LocalCluster:
    """Addresses and node ids of the running test cluster."""

    address: str
    env: dict[str, str]
    temp_dir: Path
    client_address: str = ""
    """``ray://HEAD:PORT`` (Ray Client)."""

    def nodes(self) -> list[dict[str, object]]:
        """``ray.nodes()``-like facts from ``ray list nodes``-free code: node ids and liveness."""
        code = (
            f"import json, ray; ray.init(address={self.address!r}, logging_level='ERROR');"
            "print(json.dumps([{'id': n['NodeID'], 'alive': n['Alive'], 'ip': n['NodeManagerAddress']}"
            " for n in ray.nodes()]))"
        )
        out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def start_worker(self, ip: str = WORKER_IP, num_cpus: int = 2) -> None:
        """One more raylet joining the head (another node with its own node id), on loopback ``ip``."""
        _run([RAY, "start", f"--address={self.address}", f"--node-ip-address={ip}", f"--num-cpus={num_cpus}"], self.env)

    def kill_node(self, ip: str) -> int:
        """SIGKILL the raylet of the node on ``ip`` (the node dies with its workers); its pid."""
        for proc in Path("/proc").iterdir():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"raylet") and f"--node_ip_address={ip}".encode() in argv:
                os.kill(int(proc.name), signal.SIGKILL)
                return int(proc.name)
        pytest.fail(f"no raylet for {ip}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HEAD_IP, 0))
        return int(sock.getsockname()[1])


def _run(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd[:3])} failed: {proc.stderr[-2000:]}")


def _wait_nodes(cluster: LocalCluster, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if sum(bool(n["alive"]) for n in cluster.nodes()) >= count:
            return
        time.sleep(1)
    pytest.fail(f"the Ray cluster did not reach {count} live nodes")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[LocalCluster]:
    """A head (2 CPUs) and a second node (2 CPUs), both bound to 127.0.0.1; stopped at teardown."""
    temp_dir = Path(tempfile.mkdtemp(prefix="kr"))  # short: Ray's unix socket paths must stay short
    env = {**os.environ, **LOOPBACK_ENV}
    port, client_port = _free_port(), _free_port()
    address = f"{HEAD_IP}:{port}"
    cluster = LocalCluster(
        address=address,
        env={**env, "RAY_ADDRESS": address},
        temp_dir=temp_dir,
        client_address=f"ray://{HEAD_IP}:{client_port}",
    )
    head = [
        RAY,
        "start",
        "--head",
        f"--node-ip-address={HEAD_IP}",
        f"--port={port}",
        f"--ray-client-server-port={client_port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]
    try:
        _run(head, env)
        cluster.start_worker()
        _wait_nodes(cluster, 2)
        yield cluster
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120, check=False)
        shutil.rmtree(temp_dir, ignore_errors=True)
