"""The driver side of ``kwaak batch --cluster``: connect, schedule, stream, fetch, cancel.

Each job becomes one Ray task with the ``[cluster]`` resources (CPUs, memory, custom resources
such as ``docker``) and ``max_retries`` (a task whose worker or node died runs again, on any node
with room); at most ``parallel`` tasks are in flight. Events arrive through an :class:`EventSink`
actor while the tasks run; each finished task's commits are fetched into the user's repository as
its ``kwaak/<slug>-<id8>`` branch. SIGINT/SIGTERM cancel every task (their workers remove their
scratch directories) and the run ends 130/143.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from kwaak import protocol as p
from kwaak.cluster import bundles
from kwaak.cluster.portable import portable_config
from kwaak.cluster.worker import EventSink, TaskOutcome, TaskSpec, run_task
from kwaak.config import Config
from kwaak.errors import KwaakError
from kwaak.git.workspace import resolve_start_ref
from kwaak.headless.exit_codes import EXIT_SIGNALS, overall_exit_code
from kwaak.headless.runner import AgentJob

NodeListener = Callable[[p.Event, str, str], None]
"""Called with each event and the id and ip of the node running its task."""
_POLL_SECONDS = 0.2


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error naming the extra."""
    try:
        import ray
    except ImportError:
        msg = "`--cluster` needs Ray, which is not installed"
        raise KwaakError(msg, hint="pip install 'kwaak[ray]' (on the driver and on every node)") from None
    return ray


@dataclass
class ClusterBatch:
    """Runs jobs as Ray tasks; produces one :class:`~kwaak.protocol.AgentFinished` per job."""

    config: Config
    repo_root: Path
    address: str
    parallel: int
    index: bool = True
    on_event: NodeListener | None = None
    on_finished: Callable[[p.AgentFinished], None] | None = None
    signalled: signal.Signals | None = None
    nodes: dict[p.SessionId, str] = field(default_factory=dict)
    sink_lost: bool = False

    def exit_code(self, results: Sequence[p.AgentFinished]) -> int:
        """As a local batch: the signal's code, else the most serious task's."""
        if self.signalled is not None:
            return EXIT_SIGNALS[self.signalled]
        return overall_exit_code(results, idle_code=self.config.limits.idle_exit_code)

    def run(self, jobs: Sequence[AgentJob]) -> list[p.AgentFinished]:
        """Connect, run every job, fetch the branches, disconnect.

        Raises:
            KwaakError: Ray missing, the cluster unreachable, or the start commit not found.
        """
        ray = import_ray()
        starts = self._start_refs(jobs)
        data, env = portable_config(self.config, extra_env=self.config.cluster.secret_env)
        self._connect(ray, env)
        try:
            return self._run(ray, jobs, starts, data)
        finally:
            ray.shutdown()

    def _connect(self, ray: Any, env: dict[str, str]) -> None:
        """``ray.init``; a Ray Client handshake that the busy head refused is tried again (3 tries in all)."""
        attempts = 3 if self.address.startswith("ray://") else 1
        for attempt in range(1, attempts + 1):
            try:
                ray.init(
                    address=self.address, runtime_env={"env_vars": env}, log_to_driver=False, logging_level="ERROR"
                )
                return
            except ConnectionAbortedError as exc:  # the client server's per-client server did not come up
                ray.shutdown()
                if attempt == attempts:
                    self._unreachable(exc)
                print(f"warning: the Ray Client handshake failed ({attempt}/{attempts}), trying again", file=sys.stderr)
                time.sleep(2.0 * attempt)
            except Exception as exc:  # Ray raises many types for an unreachable cluster
                self._unreachable(exc)

    def _unreachable(self, exc: Exception) -> NoReturn:
        msg = f"cannot connect to the Ray cluster at {self.address!r}: {_reason(exc)}"
        raise KwaakError(msg, hint="check `ray status` on the head node, or use --cluster auto") from None

    def _start_refs(self, jobs: Sequence[AgentJob]) -> dict[p.SessionId, str]:
        config = self.config

        async def resolve(start: str) -> str:
            return await resolve_start_ref(
                self.repo_root, start, main_branch=config.main_branch, remote=config.git.remote
            )

        wanted = {
            j.session_id: (j.op.start_from if isinstance(j.op, p.Chat) else None) or config.start_from for j in jobs
        }
        refs = {start: asyncio.run(resolve(start)) for start in set(wanted.values())}
        return {sid: refs[start] for sid, start in wanted.items()}

    def _run(
        self, ray: Any, jobs: Sequence[AgentJob], starts: dict[p.SessionId, str], data: dict[str, Any]
    ) -> list[p.AgentFinished]:
        cluster = self.config.cluster
        bundles_by_ref = {ref: bundles.start_bundle(self.repo_root, ref) for ref in set(starts.values())}
        stored = {ref: (ray.put(blob), commit) for ref, (blob, commit) in bundles_by_ref.items()}
        sink = _event_sink(ray)
        remote = ray.remote(run_task).options(
            num_cpus=cluster.num_cpus,
            memory=cluster.memory_mb * 1024 * 1024 if cluster.memory_mb else None,
            resources=dict(cluster.resources) or None,
            max_retries=cluster.max_retries,
            retry_exceptions=False,
        )
        waiting = list(jobs)
        running: dict[Any, tuple[AgentJob, str, float]] = {}
        done: dict[p.SessionId, p.AgentFinished] = {}
        with _signals_recorded(self):
            while (waiting or running) and self.signalled is None:
                while waiting and len(running) < self.parallel:
                    job = waiting.pop(0)
                    blob, commit = stored[starts[job.session_id]]
                    spec = TaskSpec(job=job, start_commit=commit, config=data, index=self.index)
                    running[remote.remote(blob, spec, sink)] = (job, commit, time.monotonic())
                ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL_SECONDS)
                self._drain(ray, sink)
                for ref in ready:
                    job, commit, started = running.pop(ref)
                    self._drain(ray, sink)
                    done[job.session_id] = self._finish(ray, ref, job, commit, started)
            if self.signalled is not None:
                self._cancel(ray, running)
        self._drain(ray, sink)
        with contextlib.suppress(Exception):
            ray.kill(sink)
        for job in jobs:
            if job.session_id not in done:
                done[job.session_id] = self._unfinished(job)
                if self.on_finished is not None:
                    self.on_finished(done[job.session_id])
        return [done[j.session_id] for j in jobs]

    def _drain(self, ray: Any, sink: Any) -> None:
        try:
            items = ray.get(sink.drain.remote(), timeout=60)
        except Exception as exc:  # the sink lives on the driver's node; losing it loses events, not tasks
            if not self.sink_lost:
                self.sink_lost = True
                print(f"warning: task events are no longer received: {type(exc).__name__}", file=sys.stderr)
            return
        for node_id, node_ip, event in items:
            if self.on_event is not None:
                self.on_event(event, node_id, node_ip)

    def _finish(self, ray: Any, ref: Any, job: AgentJob, commit: str, started: float) -> p.AgentFinished:
        seconds = round(time.monotonic() - started, 2)
        try:
            outcome: TaskOutcome = ray.get(ref)
        except Exception as exc:  # failed after its retries (node died, ...)
            reason = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__
            result = self._failed(job, seconds, f"the cluster task failed: {type(exc).__name__}: {reason}")
        else:
            result = outcome.finished
            self.nodes[job.session_id] = result.node or ""
            if result.branch:
                try:
                    bundles.fetch_result(self.repo_root, result.branch, outcome.bundle, commit)
                except KwaakError as exc:
                    result = self._failed(job, seconds, f"cannot fetch {result.branch}: {exc.message}", result)
        if self.on_finished is not None:
            self.on_finished(result)
        return result

    def _failed(
        self, job: AgentJob, seconds: float, error: str, base: p.AgentFinished | None = None
    ) -> p.AgentFinished:
        return p.AgentFinished(
            session_id=job.session_id,
            status="failed",
            exit_code=1,
            seconds=base.seconds if base else seconds,
            name=job.name,
            error=error,
            error_kind="cluster",
            node=base.node if base else None,
            kind=job.record,
        )

    def _cancel(self, ray: Any, running: dict[Any, tuple[AgentJob, str, float]]) -> None:
        """Cancel every task and give their workers a moment to clean up (bounded)."""
        for ref in running:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=False)
        with contextlib.suppress(Exception):
            ray.wait(list(running), num_returns=len(running), timeout=30)

    def _unfinished(self, job: AgentJob) -> p.AgentFinished:
        interrupted = self.signalled is not None
        return p.AgentFinished(
            session_id=job.session_id,
            status="interrupted" if interrupted else "not_started",
            exit_code=EXIT_SIGNALS[self.signalled] if self.signalled is not None else 1,
            seconds=0.0,
            name=job.name,
            error="interrupted by a signal" if interrupted else None,
            error_kind="signal" if interrupted else None,
            kind=job.record,
        )


def _event_sink(ray: Any) -> Any:
    """The batch's :class:`EventSink` actor, pinned to the driver's node (the head with Ray Client),
    so that a worker node dying never takes the events of the other tasks with it."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    strategy = NodeAffinitySchedulingStrategy(node_id=here, soft=False)
    return ray.remote(EventSink).options(num_cpus=0, scheduling_strategy=strategy).remote()


@contextlib.contextmanager
def _signals_recorded(batch: ClusterBatch) -> Iterator[None]:
    """While inside: SIGINT/SIGTERM only record the signal; the scheduling loop then cancels."""

    def handler(signum: int, _frame: object) -> None:
        if batch.signalled is None:
            batch.signalled = signal.Signals(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _reason(exc: Exception) -> str:
    """Ray's first line, plus the last line of a server-side traceback (Ray Client sends one)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    reason = lines[0][:200]
    return reason if len(lines) == 1 else f"{reason} {lines[-1][:300]}"
