"""The Ray task: one batch task on whichever node Ray picked.

The start commit arrives as a git bundle through the object store; the task clones it into a
private scratch directory, runs the same :class:`~kwaak.headless.runner.HeadlessRunner` there with
the node's own executor (docker, sandbox or local, as configured), streams every event to the
driver's :class:`EventSink`, and returns the agent's commits as a bundle. The scratch directory
(clone, worktree, session store) is removed however the task ends, cancellation included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kwaak import protocol as p
from kwaak.cluster import bundles
from kwaak.cluster.portable import worker_config
from kwaak.headless.runner import AgentJob, HeadlessRunner

log = logging.getLogger(__name__)  # on a worker: in Ray's worker log of the node


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What a worker needs besides the bundle: no secret is in here (Ray records task arguments)."""

    job: AgentJob
    start_commit: str
    config: dict[str, Any]
    index: bool


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What a worker sends back."""

    finished: p.AgentFinished
    node_id: str
    node_ip: str
    bundle: bytes | None


class EventSink:
    """A Ray actor (one per batch) collecting events from the workers, drained by the driver.

    Ray runs calls from one worker to an actor in order, so each task's events stay ordered.
    """

    def __init__(self) -> None:
        self._items: list[tuple[str, str, p.Event]] = []

    def put(self, node_id: str, node_ip: str, event: p.Event) -> None:
        """Queue one event of a task running on ``node_id``."""
        self._items.append((node_id, node_ip, event))

    def drain(self) -> list[tuple[str, str, p.Event]]:
        """Everything queued since the last drain."""
        items, self._items = self._items, []
        return items

    def ping(self) -> bool:
        """Returns once every earlier ``put`` of the caller has run."""
        return True


SCRATCH_PREFIX = "kwaak-ray-task-"


def sweep_scratch(root: Path) -> list[Path]:
    """Remove the scratch dirs of tasks whose worker process is gone (their node was killed, or the
    driver's job ended with them); the dirs of live workers stay. Returns what was removed."""
    removed: list[Path] = []
    for path in root.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = path.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or path.is_symlink():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def node_identity() -> tuple[str, str]:
    """``(node id, node ip)`` of the node this code runs on."""
    import ray

    node_id: str = ray.get_runtime_context().get_node_id()
    nodes = cast("Callable[[], list[dict[str, Any]]]", ray.nodes)
    for node in nodes():  # the address the node was started with
        if node.get("NodeID") == node_id:
            return node_id, str(node.get("NodeManagerAddress"))
    guess = cast("Callable[[], str]", ray.util.get_node_ip_address)
    return node_id, guess()


def run_task(bundle: bytes, spec: TaskSpec, sink: Any) -> TaskOutcome:
    """The body of the Ray task (see the module docstring)."""
    import ray

    node_id, node_ip = node_identity()
    sweep_scratch(Path(tempfile.gettempdir()))
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))

    def forward(event: p.Event) -> None:
        sink.put.remote(node_id, node_ip, event)

    try:
        repo = bundles.materialize(bundle, spec.start_commit, scratch)
        config = worker_config(spec.config, repo, scratch)
        job = spec.job
        if isinstance(job.op, p.Chat):
            job = dataclasses.replace(job, op=dataclasses.replace(job.op, start_from="head"))
        runner = HeadlessRunner(
            config, repo, persist=False, index=spec.index, listeners=[forward], origin="batch", warn=log.warning
        )
        (finished,) = asyncio.run(runner.run([job]))
        if finished.branch and not bundles.has_branch(repo, finished.branch):
            finished = dataclasses.replace(finished, branch=None)  # nothing committed, nothing to fetch
        result = bundles.result_bundle(repo, finished.branch, spec.start_commit) if finished.branch else None
        with contextlib.suppress(Exception):  # a lost sink costs events, never the task's result
            ray.get(sink.ping.remote(), timeout=60)  # every event of this task reached the sink first
        node = f"{node_ip}/{node_id[:8]}"
        return TaskOutcome(dataclasses.replace(finished, node=node), node_id, node_ip, result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
