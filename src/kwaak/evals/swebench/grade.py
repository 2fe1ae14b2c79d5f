"""A local check of a prediction, for instances that carry a ``test_cmd``.

The official grade comes from the ``swebench`` package (its docker images run the
FAIL_TO_PASS / PASS_TO_PASS tests). This check needs no docker: in a fresh worktree at
``base_commit`` it applies the prediction, then the test patch (the order the ``swebench`` harness
uses), and runs ``test_cmd``. "Resolved locally" means both patches applied and the command exited 0.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from kwaak.evals.swebench.instances import Instance
from kwaak.executors.local import LocalExecutor
from kwaak.git.cli import run_git


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalGrade:
    """The outcome of the local check."""

    patch_applied: bool
    resolved: bool
    output: str
    """Why the patch did not apply, or the test command's output."""

    def to_json(self) -> dict[str, bool]:
        """The verdict (the output goes to its own file)."""
        return {"patch_applied": self.patch_applied, "resolved": self.resolved}


async def grade_locally(instance: Instance, repo: Path, model_patch: str, *, timeout: float) -> LocalGrade:
    """Apply ``model_patch`` and the test patch at ``base_commit`` in a scratch worktree and run the tests.

    Args:
        instance: The instance (``test_cmd`` must be set).
        repo: The prepared repository (it has ``base_commit``).
        model_patch: The prediction.
        timeout: Seconds the test command may run.
    """
    assert instance.test_cmd is not None
    scratch = repo.parent / "grade-worktree"
    if scratch.exists():
        shutil.rmtree(scratch)
        await run_git(repo, "worktree", "prune", check=False)
    await run_git(repo, "worktree", "add", "--quiet", "--detach", str(scratch), instance.base_commit)
    try:
        for label, patch in (("the prediction", model_patch), ("the test patch", instance.test_patch)):
            if not patch.strip():
                continue
            applied = await run_git(scratch, "apply", "--whitespace=nowarn", "-", input_text=patch, check=False)
            if not applied.ok:
                return LocalGrade(patch_applied=False, resolved=False, output=f"{label}: {applied.stderr.strip()}")
        result = await LocalExecutor(scratch).exec(instance.test_cmd, timeout=timeout)
        note = f"\n[timed out after {timeout:.0f}s]" if result.timed_out else ""
        return LocalGrade(patch_applied=True, resolved=result.ok, output=result.output + note)
    finally:
        await run_git(repo, "worktree", "remove", "--force", str(scratch), check=False)
