"""Start-up (issue 26): dead runs' containers go in the background; the model connection opens early."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from kwaak.llm.testing import ScriptedModel

FAKE_DOCKER = """#!/bin/sh
# A docker CLI whose `ps` hangs until the test releases it.
echo "$@" >> "{log}"
if [ "$1" = "ps" ]; then
  touch "{started}"
  while [ ! -e "{release}" ]; do sleep 0.02; done
  touch "{finished}"
fi
exit 0
"""


async def _wait_for(path: Path, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):  # a file another process creates: nothing to await but time
        for _ in iter(int, 1):
            if path.exists():
                return
            await asyncio.sleep(0.02)


async def test_start_does_not_wait_for_docker_and_close_waits_for_the_cleanup(
    make_backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marks = {name: tmp_path / name for name in ("log", "started", "release", "finished")}
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER.format(**{k: str(v) for k, v in marks.items()}))
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    backend, _ = make_backend(ScriptedModel([]))

    await asyncio.wait_for(backend.start(restore=False), 20)  # returns while `docker ps` still hangs
    await _wait_for(marks["started"])
    assert not marks["finished"].exists(), "start returned before the container listing ended"

    closing = asyncio.create_task(backend.aclose())
    await asyncio.sleep(0.3)
    assert not closing.done(), "closing waits for the cleanup instead of cancelling it"
    marks["release"].write_text("")
    await asyncio.wait_for(closing, 20)
    assert marks["finished"].exists()
    assert marks["log"].read_text().splitlines()[0].startswith("ps --all")


class _WarmingModel(ScriptedModel):
    warmed = 0

    async def warm_up(self) -> None:
        type(self).warmed += 1


async def test_an_agent_start_opens_the_model_connection_ahead_of_the_first_request(make_backend) -> None:
    from kwaak import protocol as p
    from kwaak.llm.testing import call

    backend, _ = make_backend(_WarmingModel([call("stop")]))
    done = await backend.run_op("s", p.Chat(message="hello"))
    assert done.ok, done
    assert _WarmingModel.warmed == 1
