"""``kwaak eval patch``: a statistical unit test of the file-editing tools (kwaak §9.1).

Each iteration gives an agent (the configured query model, the coding system prompt, a local
executor, no git/shell/web/test tools) a small, precise fix to make in a long Python file with
significant whitespace: the ``iter_content`` fix of SWE-bench ``psf__requests-2148``. The agent's
diff is then checked for the expected removed and added lines (exact strings, blank lines ignored).

Unlike kwaak 0.16.2, the fixture lives in a throwaway git repository (the agent edits a worktree of
it, never the user's checkout), ``-c`` is honoured, and the metrics carry the session's real token
counts and cost.

Output per iteration in ``<output>/patch/iteration_<i>/``: ``agent.log``, ``trajectory.jsonl``,
``changes.diff``, ``failed`` (only when the check failed: missing vs. found lines) and
``metrics`` (JSON).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kwaak.backend import Models
from kwaak.config import Config
from kwaak.config.model import Budget, CommandConfig
from kwaak.errors import KwaakError
from kwaak.evals.prompts import render
from kwaak.evals.runner import AgentRun, diff_files, run_headless_agent

FIXTURE = Path(__file__).parent / "fixtures" / "swebench_2148" / "models.py"
SCRIPTED_SOLUTION = FIXTURE.parent / "scripted_solution.json"
"""A scripted model's run (one broken patch, then the right one) for offline dry runs and tests."""
TARGET = "requests/models.py"
"""Where the fixture sits in the evaluation repository."""
DISABLED_TOOLS = ("git", "shell_command", "fetch_url", "explain_code", "run_tests", "run_coverage", "reset_file")
DEFAULT_MAX_STEPS = 30
DEFAULT_TIMEOUT_SEC = 600.0

EXPECTED_REMOVALS = ("            self._content_consumed = True",)
EXPECTED_ADDITIONS = (
    "                except socket.error as e:",
    "                    raise ConnectionError(e)",
    "            finally:",
    "                self._content_consumed = True",
)
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "kwaak eval",
    "GIT_AUTHOR_EMAIL": "eval@kwaak.invalid",
    "GIT_COMMITTER_NAME": "kwaak eval",
    "GIT_COMMITTER_EMAIL": "eval@kwaak.invalid",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffCheck:
    """The expected lines against the lines the diff removed and added."""

    removals: tuple[str, ...]
    additions: tuple[str, ...]
    missing_removals: tuple[str, ...]
    missing_additions: tuple[str, ...]

    @property
    def success(self) -> bool:
        """Every expected line was found."""
        return not self.missing_removals and not self.missing_additions

    def report(self) -> str:
        """The ``failed`` file: what was missing and what was found."""
        sections = [
            ("Missing removals", self.missing_removals),
            ("Missing additions", self.missing_additions),
            ("Found removals", self.removals),
            ("Found additions", self.additions),
        ]
        body = "\n\n".join("\n".join([f"{title}:", *lines]) for title, lines in sections)
        return "Expected changes were not found in the patch.\n\n" + body + "\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class Iteration:
    """One iteration's outcome."""

    number: int
    success: bool
    run: AgentRun | None
    error: str | None = None

    @property
    def seconds(self) -> float:
        """Wall time of the agent run."""
        return self.run.seconds if self.run is not None else 0.0


@dataclass
class PatchEvalSummary:
    """All iterations."""

    iterations: list[Iteration] = field(default_factory=list)

    @property
    def successes(self) -> int:
        """Iterations whose diff had every expected line."""
        return sum(1 for it in self.iterations if it.success)

    @property
    def total_seconds(self) -> float:
        """Time of all agent runs."""
        return sum(it.seconds for it in self.iterations)

    def lines(self) -> list[str]:
        """The summary printed at the end."""
        n = len(self.iterations) or 1
        tokens = [it.run.input_tokens + it.run.output_tokens for it in self.iterations if it.run is not None]
        steps = [it.run.steps for it in self.iterations if it.run is not None]
        return [
            "Evaluation summary:",
            f"Success rate: {self.successes}/{len(self.iterations)} iterations",
            f"Total time: {self.total_seconds:.2f}s",
            "Averages per iteration:",
            f"Time: {self.total_seconds / n:.2f}s",
            f"Tokens: {sum(tokens) / n:.0f}",
            f"Steps: {sum(steps) / n:.1f}",
        ]


def check_diff(diff: str, *, path: str = TARGET) -> DiffCheck:
    """Compare the added and removed lines of ``diff`` (for ``path``) with the expected ones."""
    block = diff_files(diff).get(path, "")
    body = block.split(f"+++ b/{path}\n", 1)[1] if f"+++ b/{path}\n" in block else ""
    changed = [line for line in body.splitlines() if line.startswith(("+", "-"))]
    additions = tuple(line[1:] for line in changed if line.startswith("+") and line[1:].strip())
    removals = tuple(line[1:] for line in changed if line.startswith("-") and line[1:].strip())
    return DiffCheck(
        removals=removals,
        additions=additions,
        missing_removals=tuple(r for r in EXPECTED_REMOVALS if r not in removals),
        missing_additions=tuple(a for a in EXPECTED_ADDITIONS if a not in additions),
    )


def make_eval_repo(parent: Path) -> Path:
    """A git repository holding the fixture at :data:`TARGET`, committed."""
    repo = parent / "patch-eval-repo"
    (repo / TARGET).parent.mkdir(parents=True)
    shutil.copyfile(FIXTURE, repo / TARGET)
    (repo / "README.md").write_text("A fixture repository for `kwaak eval patch`.\n", encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]):
        _git(repo, *args)
    return repo


def reset_file(repo: Path) -> None:
    """``git checkout HEAD -- <fixture>`` (kwaak resets before and after each iteration)."""
    _git(repo, "checkout", "HEAD", "--", TARGET)


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, **_GIT_ENV}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"`git {' '.join(args)}` failed in the evaluation repository: {proc.stderr.strip()}"
        raise KwaakError(msg, hint="check that git works and the temporary directory is writable")


def eval_config(config: Config, *, work: Path) -> Config:
    """The user's configuration, narrowed to what the evaluation needs.

    Local executor in a worktree of the evaluation repository; the tools kwaak disables for this
    evaluation; no GitHub, MCP, project commands, commits or pushes; endless mode with a step
    budget (the agent ends by calling ``stop``).
    """
    tools = {**config.tools, **dict.fromkeys(DISABLED_TOOLS, False)}
    agent = config.limits.agent
    budget = Budget(
        max_steps=agent.max_steps or DEFAULT_MAX_STEPS,
        max_tokens=agent.max_tokens,
        max_cost_usd=agent.max_cost_usd,
        max_wall_time_sec=agent.max_wall_time_sec or DEFAULT_TIMEOUT_SEC,
    )
    git = config.git.model_copy(
        update={"auto_push_remote": False, "auto_commit_disabled": True, "owner": None, "repository": None}
    )
    return config.model_copy(
        update={
            "project_name": "kwaak-eval-patch",
            "languages": ("Python",),
            "tool_executor": "local",
            "tools": tools,
            "commands": CommandConfig(),
            "git": git,
            "github_api_key": None,
            "mcp": None,
            "endless_mode": True,
            "cache_dir": work / "cache",
            "log_dir": work / "logs",
            "limits": config.limits.model_copy(update={"agent": budget}),
        }
    )


ModelsFactory = Callable[[Config], Models]


async def run_patch_eval(
    config: Config,
    *,
    iterations: int,
    output: Path,
    models: ModelsFactory | None = None,
    echo: Callable[[str], Any] = print,
) -> PatchEvalSummary:
    """Run ``iterations`` agents on the fixture and write the results under ``output/patch``.

    Args:
        config: The loaded configuration (its query model does the work).
        iterations: How many independent runs.
        output: The evaluations directory (``evals`` by default on the command line).
        models: Builds fresh models per iteration (default: from the configuration).
        echo: Where progress lines go.
    """
    summary = PatchEvalSummary()
    with tempfile.TemporaryDirectory(prefix="kwaak-eval-patch-") as tmp:
        work = Path(tmp)
        repo = make_eval_repo(work)
        cfg = eval_config(config, work=work)
        for number in range(1, iterations + 1):
            echo(f"Running patch evaluation iteration {number}")
            reset_file(repo)
            iteration = await _iteration(cfg, repo, number, output / "patch" / f"iteration_{number}", models)
            reset_file(repo)
            summary.iterations.append(iteration)
            echo(_iteration_line(iteration))
    for line in summary.lines():
        echo(line)
    return summary


async def _iteration(
    config: Config, repo: Path, number: int, directory: Path, models: ModelsFactory | None
) -> Iteration:
    if directory.exists():
        shutil.rmtree(directory)
    try:
        run = await run_headless_agent(
            config,
            repo,
            render("patch_task", file=TARGET),
            log_dir=directory,
            timeout=config.limits.agent.max_wall_time_sec,
            models=models(config) if models is not None else None,
        )
    except KwaakError as exc:
        (directory / "metrics").write_text(json.dumps({"iteration": number, "success": False, "error": exc.render()}))
        return Iteration(number=number, success=False, run=None, error=exc.render())
    check = check_diff(run.diff)
    (directory / "changes.diff").write_text(diff_files(run.diff).get(TARGET, ""), encoding="utf-8")
    if not check.success:
        (directory / "failed").write_text(check.report(), encoding="utf-8")
    metrics = {"iteration": number, "success": check.success, **run.to_json()}
    (directory / "metrics").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return Iteration(number=number, success=check.success, run=run)


def _iteration_line(it: Iteration) -> str:
    if it.run is None:
        return f"Iteration {it.number} failed with error: {it.error}"
    verdict = "succeeded" if it.success else "failed - changes did not match the expected patch"
    tokens = it.run.input_tokens + it.run.output_tokens
    return (
        f"Iteration {it.number} {verdict} ({it.run.status}): {it.seconds:.2f}s, {it.run.steps} steps, "
        f"{tokens} tokens, {it.run.failed_tool_calls}/{it.run.tool_calls} tool calls failed"
    )
