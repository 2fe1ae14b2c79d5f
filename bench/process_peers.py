"""Peers for ``bench_process.py --peers``: other agents' CLIs run as processes against the same fake server.

A peer runs only when its command is installed (found on ``PATH`` or given with ``--peer-bin
NAME=PATH``); none is a dependency of kwaak. Each preset knows how to point the peer at the fake
OpenAI server, the name of the shell tool it offers (its requests are recognized by it), and how its
trajectory of ``true`` calls ends. Presets:

* ``mini-swe-agent`` (``pip install mini-swe-agent``; command ``mini``): a ``bash`` tool, ends with
  ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``; run with ``-y --exit-immediately`` and litellm's bundled cost map.

Codex CLI (a native binary from npm that downloads its platform build) and aider are not presets:
neither could be installed and checked on the offline machine this was written on.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.provider_server import Reply, tool_call


@dataclass(frozen=True)
class Peer:
    """How to run one peer CLI against the fake server."""

    name: str
    command: str
    tool: str
    """The shell tool the peer offers: its requests are the ones that offer it."""
    argv: Callable[[str, str, str, Path], list[str]]
    """(executable, base_url with /v1, task, scratch dir) -> argv."""
    finish: Reply
    env: dict[str, str] = field(default_factory=dict)

    def trajectory(self, steps: int, latency: float) -> list[Reply]:
        """``steps`` shell calls of ``true`` and the peer's own way to finish."""
        calls = [tool_call(self.tool, command="true") for _ in range(steps)] + [self.finish]
        return [Reply(text=c.text, tool_calls=c.tool_calls, delay=latency) for c in calls]


def _mini(exe: str, url: str, task: str, scratch: Path) -> list[str]:
    return [
        *(exe, "-m", "openai/gpt-4o", "-t", task, "-y", "--exit-immediately", "--cost-limit", "0"),
        *("-c", "mini.yaml", "-c", f"model.model_kwargs.api_base={url}", "-o", str(scratch / "trajectory.json")),
    ]


PEERS = {
    "mini-swe-agent": Peer(
        name="mini-swe-agent",
        command="mini",
        tool="bash",
        argv=_mini,
        finish=tool_call("bash", command="echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"),
        env={
            "OPENAI_API_KEY": "sk-bench",
            "MSWEA_CONFIGURED": "true",
            "MSWEA_COST_TRACKING": "ignore_errors",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch from GitHub at start
        },
    ),
}


def installed(overrides: dict[str, str]) -> dict[str, tuple[Peer, str]]:
    """The presets whose command is found, with their executable."""
    found = {}
    for name, peer in PEERS.items():
        exe = overrides.get(name) or shutil.which(peer.command)
        if exe and os.access(exe, os.X_OK):
            found[name] = (peer, exe)
    return found
