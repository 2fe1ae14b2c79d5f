"""The SWE-bench harness: one headless agent per instance, in parallel, resumable.

For every instance: clone the repository at ``base_commit`` and commit the test patch (the
baseline), run one agent on the issue with a step/cost budget and a wall-clock timeout, take the
agent's net change since the baseline (commits, edits, new files; the test patch's files left
out), and append ``{instance_id, model_name_or_path, model_patch}`` to ``predictions.jsonl`` (the
format ``python -m swebench.harness.run_evaluation --predictions_path`` grades).

Layout of ``--output DIR``::

    predictions.jsonl            one line per finished instance
    results.json                 every instance's result and the totals of this run
    instances/<id>/result.json   status, usage, patch size, local grade (its presence = done)
    instances/<id>/trajectory.jsonl, agent.log, patch.diff, test_output.txt
    instances/<id>/repo/         the prepared clone (the agent's branch is kept there)

Instances with a ``result.json`` or a line in ``predictions.jsonl`` are skipped, so an
interrupted run continues where it stopped; delete an instance's directory to run it again.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kwaak import __version__
from kwaak.backend import Models
from kwaak.config import Config
from kwaak.config.model import Budget, CommandConfig
from kwaak.errors import KwaakError
from kwaak.evals.prompts import render
from kwaak.evals.runner import diff_files, run_headless_agent
from kwaak.evals.swebench.grade import grade_locally
from kwaak.evals.swebench.instances import BASE_BRANCH, Instance, prepare_repository

PREDICTIONS = "predictions.jsonl"
RESULTS = "results.json"
RESULT = "result.json"
DEFAULT_TIMEOUT_SEC = 3600.0
"""kwaak's harness gave each trial 60 minutes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SweOptions:
    """How to run the instances."""

    output: Path
    parallel: int = 1
    timeout: float = DEFAULT_TIMEOUT_SEC
    """Wall-clock seconds per agent (also its wall-time budget)."""
    max_steps: int | None = None
    max_cost: float | None = None
    model_name: str = f"kwaak-{__version__}"
    """``model_name_or_path`` in the predictions."""
    index: bool = False
    """Index each repository first (initial context and ``explain_code``; costs embedding calls)."""
    base_dir: Path = field(default_factory=Path.cwd)
    """Relative ``repo_path`` values are resolved against this directory (the instances file's)."""


@dataclass
class SweSummary:
    """The results of this run (and of skipped, already finished instances)."""

    results: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Instances that could not run (preparation or harness failures)."""
        return sum(1 for r in self.results if r["status"] == "error")

    def totals(self) -> dict[str, Any]:
        """Aggregate figures of this run."""
        ran = [r for r in self.results if r.get("agent")]
        graded = [r for r in self.results if r.get("local_grade")]
        return {
            "instances": len(self.results) + len(self.skipped),
            "ran": len(ran),
            "skipped": len(self.skipped),
            "errors": self.errors,
            "with_patch": sum(1 for r in ran if r["patch_bytes"]),
            "graded_locally": len(graded),
            "resolved_locally": sum(1 for r in graded if r["local_grade"]["resolved"]),
            "input_tokens": sum(r["agent"]["input_tokens"] for r in ran),
            "output_tokens": sum(r["agent"]["output_tokens"] for r in ran),
            "cost_usd": round(sum(r["agent"]["cost_usd"] for r in ran), 6),
            "agent_seconds": round(sum(r["agent"]["seconds"] for r in ran), 3),
        }


def finished_ids(output: Path) -> set[str]:
    """Instances already done: a line in ``predictions.jsonl`` or a ``result.json``."""
    done: set[str] = set()
    predictions = output / PREDICTIONS
    if predictions.is_file():
        for line in predictions.read_text(encoding="utf-8").splitlines():
            try:
                done.add(str(json.loads(line)["instance_id"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    for result in (output / "instances").glob(f"*/{RESULT}"):
        try:
            done.add(str(json.loads(result.read_text(encoding="utf-8"))["instance_id"]))
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            continue
    return done


def instance_config(config: Config, instance: Instance, directory: Path, options: SweOptions) -> Config:
    """The user's model settings, set up for one unattended SWE-bench instance.

    Cache and logs under the instance's directory; the instance's test command (if any) for
    ``run_tests``; no GitHub, pushes, MCP servers or lint command; endless mode with the budget.
    """
    agent = config.limits.agent
    budget = Budget(
        max_steps=options.max_steps or agent.max_steps,
        max_tokens=agent.max_tokens,
        max_cost_usd=options.max_cost or agent.max_cost_usd,
        max_wall_time_sec=options.timeout,
    )
    git = config.git.model_copy(
        update={"auto_push_remote": False, "owner": None, "repository": None, "main_branch": BASE_BRANCH}
    )
    return config.model_copy(
        update={
            "project_name": instance.project_name,
            "languages": ("Python",),
            "commands": CommandConfig(test=instance.test_cmd),
            "git": git,
            "github_api_key": None,
            "mcp": None,
            "endless_mode": True,
            "cache_dir": directory / "cache",
            "log_dir": directory / "logs",
            "limits": config.limits.model_copy(update={"agent": budget}),
        }
    )


def task_prompt(instance: Instance) -> str:
    """The agent's task: the issue, and the failing tests it must make pass."""
    return render(
        "swe_bench",
        repo=instance.repo,
        problem_statement=instance.problem_statement.strip(),
        test_patch=instance.test_patch.strip(),
        fail_to_pass=list(instance.fail_to_pass),
    )


def prediction_patch(diff: str, instance: Instance) -> str:
    """The agent's diff without the files of the test patch (the harness applies those itself)."""
    excluded = set(instance.test_files())
    return "".join(block for path, block in diff_files(diff).items() if path not in excluded)


class Harness:
    """Runs instances with a shared predictions file."""

    def __init__(
        self,
        config: Config,
        options: SweOptions,
        *,
        models: Callable[[Config], Models] | None = None,
        echo: Callable[[str], Any] = print,
    ) -> None:
        self.config = config
        self.options = options
        self.models = models
        self.echo = echo
        self._lock = asyncio.Lock()

    async def run(self, instances: list[Instance]) -> SweSummary:
        """Run every unfinished instance, ``parallel`` at a time, and write ``results.json``."""
        output = self.options.output
        (output / "instances").mkdir(parents=True, exist_ok=True)
        done = finished_ids(output)
        summary = SweSummary(skipped=[i.instance_id for i in instances if i.instance_id in done])
        for instance_id in summary.skipped:
            self.echo(f"{instance_id}: already done, skipped")
        slots = asyncio.Semaphore(self.options.parallel)

        async def one(instance: Instance) -> None:
            async with slots:
                summary.results.append(await self.run_instance(instance))

        async with asyncio.TaskGroup() as group:
            for instance in instances:
                if instance.instance_id not in done:
                    group.create_task(one(instance))
        _write_json(output / RESULTS, {"totals": summary.totals(), "results": summary.results})
        return summary

    async def run_instance(self, instance: Instance) -> dict[str, Any]:
        """Prepare, run, collect and record one instance (errors become an ``error`` result)."""
        directory = self.options.output / "instances" / instance.dir_name
        if directory.exists():  # a run that was interrupted half-way: start it afresh
            await asyncio.to_thread(shutil.rmtree, directory)
        directory.mkdir(parents=True)
        self.echo(f"{instance.instance_id}: preparing {instance.repo} at {instance.base_commit[:12]}")
        started = time.monotonic()
        try:
            result = await self._attempt(instance, directory)
        except KwaakError as exc:
            result = {"instance_id": instance.instance_id, "status": "error", "error": exc.render()}
        result["seconds"] = round(time.monotonic() - started, 3)
        _write_json(directory / RESULT, result)
        self.echo(_result_line(result))
        return result

    async def _attempt(self, instance: Instance, directory: Path) -> dict[str, Any]:
        repo = directory / "repo"
        baseline = await prepare_repository(instance, repo, base_dir=self.options.base_dir)
        config = instance_config(self.config, instance, directory, self.options)
        self.echo(f"{instance.instance_id}: agent started (timeout {self.options.timeout:.0f}s)")
        run = await run_headless_agent(
            config,
            repo,
            task_prompt(instance),
            log_dir=directory,
            timeout=self.options.timeout,
            models=self.models(config) if self.models is not None else None,
            index=self.options.index,
        )
        patch = prediction_patch(run.diff, instance)
        (directory / "patch.diff").write_text(patch, encoding="utf-8")
        result: dict[str, Any] = {
            "instance_id": instance.instance_id,
            "status": "completed",
            "baseline": baseline,
            "agent": run.to_json(),
            "patch_bytes": len(patch.encode()),
            "patch_files": sorted(p for p in diff_files(patch) if p),
        }
        if instance.test_cmd:
            grade = await grade_locally(instance, repo, patch, timeout=self.options.timeout)
            (directory / "test_output.txt").write_text(grade.output, encoding="utf-8")
            result["local_grade"] = grade.to_json()
        await self._predict(instance, patch)
        return result

    async def _predict(self, instance: Instance, patch: str) -> None:
        line = {
            "instance_id": instance.instance_id,
            "model_name_or_path": self.options.model_name,
            "model_patch": patch,
        }
        async with self._lock:
            with (self.options.output / PREDICTIONS).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _result_line(result: dict[str, Any]) -> str:
    name = result["instance_id"]
    if result["status"] == "error":
        return f"{name}: error: {result['error']}"
    agent = result["agent"]
    grade = result.get("local_grade")
    verdict = "" if grade is None else (" · resolved locally" if grade["resolved"] else " · NOT resolved locally")
    return (
        f"{name}: {agent['status']} in {agent['seconds']:.1f}s, {agent['steps']} steps, "
        f"{agent['input_tokens'] + agent['output_tokens']} tokens, patch {result['patch_bytes']} bytes{verdict}"
    )


def summary_lines(summary: SweSummary, output: Path) -> list[str]:
    """The closing report."""
    t = summary.totals()
    lines = [
        f"SWE-bench: {t['ran']} ran, {t['skipped']} skipped, {t['errors']} errors; {t['with_patch']} non-empty patches",
        f"tokens {t['input_tokens']} in / {t['output_tokens']} out, cost ${t['cost_usd']:.4f}, "
        f"agent time {t['agent_seconds']:.1f}s",
    ]
    if t["graded_locally"]:
        lines.append(f"resolved locally: {t['resolved_locally']}/{t['graded_locally']}")
    lines.append(f"predictions: {output / PREDICTIONS}")
    return lines
