"""``kwaak batch FILE --cluster ADDRESS``: the batch's tasks as Ray tasks (see ``kwaak.cluster``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

from kwaak import protocol as p
from kwaak.commands.batch_cmd import _overlaps, _Router
from kwaak.config import Config
from kwaak.errors import UsageError
from kwaak.headless.batch import BatchTask, batch_jobs
from kwaak.headless.printer import OutputFormat
from kwaak.textsafe import json_safe


def run_cluster(
    config: Config,
    repo_root: Path,
    tasks: list[BatchTask],
    output: OutputFormat,
    address: str,
    *,
    skip_indexing: bool,
    best_of: bool = False,
) -> int:
    """Run the batch on the cluster; print events (tagged with their node), records and the summary."""
    from kwaak.cluster.driver import ClusterBatch

    if best_of:
        msg = "best-of-N (--n/--models/--executors) does not run on a cluster yet"
        raise UsageError(msg, hint="drop --cluster, or run the variants as separate tasks")
    if any(t.pull_request for t in tasks):
        msg = "tasks with pull_request = true do not run on a cluster yet (nothing is pushed from workers)"
        raise UsageError(msg, hint="run without pull requests, then push the fetched kwaak/ branches")
    jobs = batch_jobs(tasks)
    router = _Router(output, jobs)
    out = sys.stdout  # Ray prints its own notices (e.g. a node died) to stdout: they go to stderr

    def on_event(event: p.Event, node_id: str, node_ip: str) -> None:
        if output == "jsonl":
            line = json.dumps(
                {**event.to_json(), "node_id": node_id, "node_ip": node_ip}, ensure_ascii=False, default=str
            )
            out.write(json_safe(line) + "\n")
            out.flush()
        else:
            with contextlib.redirect_stdout(out):
                router(event)

    def on_finished(result: p.AgentFinished) -> None:
        with contextlib.redirect_stdout(out):
            router.finished(result)

    width = config.limits.max_parallel_agents
    batch = ClusterBatch(
        config, repo_root, address, width, index=not skip_indexing, on_event=on_event, on_finished=on_finished
    )
    if output == "text":
        print(f"Running {len(tasks)} tasks on the Ray cluster at {address}, {width} at a time", file=sys.stderr)
    started = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):
        results = batch.run(jobs)
    code = batch.exit_code(results)
    overlaps = asyncio.run(_overlaps(repo_root, results))
    seconds = round(time.monotonic() - started, 2)
    router.report(code, seconds, results, overlaps)
    return code
