"""SWE-bench instances: reading the JSONL file and preparing each repository at its base commit.

An instance is one line of a SWE-bench-format JSONL file (``princeton-nlp/SWE-bench*`` exports):
``instance_id``, ``repo`` (``owner/name``), ``base_commit``, ``problem_statement`` and optionally
``test_patch``, ``FAIL_TO_PASS`` / ``PASS_TO_PASS`` (lists, or JSON strings of lists as in the
dataset). Our additions: ``repo_path`` (a local mirror, bare or not) or ``clone_url`` (otherwise
``https://github.com/<repo>.git``), and ``test_cmd`` (a shell command that runs the tests, for
the agent's ``run_tests`` tool and for local grading).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kwaak.errors import GitError, UsageError
from kwaak.git.cli import git_out, run_git

BASE_BRANCH = "swe-base"
"""The branch holding ``base_commit`` plus the test patch: where the agent starts."""
CLONE_TIMEOUT_SEC = 1800
IDENTITY = {
    "GIT_AUTHOR_NAME": "kwaak swe-bench",
    "GIT_AUTHOR_EMAIL": "swe-bench@kwaak.invalid",
    "GIT_COMMITTER_NAME": "kwaak swe-bench",
    "GIT_COMMITTER_EMAIL": "swe-bench@kwaak.invalid",
}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Instance(BaseModel):
    """One SWE-bench task (unknown dataset columns are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    instance_id: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    """``owner/name`` on GitHub."""
    base_commit: str = Field(min_length=4)
    problem_statement: str = Field(min_length=1)
    test_patch: str = ""
    """The tests that check the fix (applied before the agent starts, excluded from the prediction)."""
    fail_to_pass: tuple[str, ...] = Field(default=(), alias="FAIL_TO_PASS")
    pass_to_pass: tuple[str, ...] = Field(default=(), alias="PASS_TO_PASS")
    repo_path: str | None = None
    """A local clone or mirror of the repository (ours)."""
    clone_url: str | None = None
    """Where to clone from when there is no ``repo_path`` (ours)."""
    test_cmd: str | None = None
    """A shell command that runs the relevant tests from the repository root (ours)."""

    @field_validator("fail_to_pass", "pass_to_pass", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        # The dataset stores these lists as JSON strings.
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @property
    def dir_name(self) -> str:
        """A file-system-safe name for the instance's directory."""
        return _SAFE.sub("_", self.instance_id)

    @property
    def project_name(self) -> str:
        """The repository's name (``django`` for ``django/django``)."""
        return self.repo.rsplit("/", 1)[-1]

    def source(self, base_dir: Path) -> str:
        """Where to clone from: ``repo_path`` (relative to ``base_dir``), ``clone_url`` or GitHub."""
        if self.repo_path:
            path = Path(self.repo_path).expanduser()
            return str(path if path.is_absolute() else (base_dir / path).resolve())
        return self.clone_url or f"https://github.com/{self.repo}.git"

    def test_files(self) -> list[str]:
        """The files the test patch touches (kept out of the prediction)."""
        return re.findall(r"^\+\+\+ b/(.+)$", self.test_patch, flags=re.MULTILINE)


def load_instances(path: Path, *, only: tuple[str, ...] = ()) -> list[Instance]:
    """Read a JSONL file of instances (blank lines ignored), optionally only the ids in ``only``.

    Raises:
        UsageError: the file cannot be read, a line is not a valid instance, ids repeat, or an id
            in ``only`` is not in the file.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        msg = f"cannot read the instances file {str(path)!r}: {exc.strerror or exc}"
        raise UsageError(msg, hint="give a SWE-bench JSONL file with --instances") from exc
    instances = [_parse(path, number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    ids = [i.instance_id for i in instances]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        msg = f"{path}: instance ids appear more than once: {', '.join(duplicates)}"
        raise UsageError(msg, hint="each instance_id must be unique")
    if only:
        unknown = [i for i in only if i not in ids]
        if unknown:
            msg = f"{path}: no instance {', '.join(unknown)}"
            raise UsageError(msg, hint="check the ids given with --instance")
        instances = [i for i in instances if i.instance_id in only]
    return instances


def _parse(path: Path, number: int, line: str) -> Instance:
    try:
        return Instance.model_validate(json.loads(line))
    except (json.JSONDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if isinstance(exc, json.JSONDecodeError) else _first_error(exc)
        msg = f"{path}:{number}: not a valid SWE-bench instance: {first}"
        raise UsageError(msg, hint="each line needs instance_id, repo, base_commit and problem_statement") from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "line"
    return f"{where}: {error['msg']}"


async def prepare_repository(instance: Instance, dest: Path, *, base_dir: Path) -> str:
    """Clone the instance's repository to ``dest`` at ``base_commit`` and commit the test patch.

    The result has one branch, :data:`BASE_BRANCH`, checked out and clean, and no remote (so an
    agent cannot push anywhere).

    Returns:
        The baseline commit (``base_commit`` plus the test patch): what the agent starts from.

    Raises:
        GitError: cloning, the checkout or the test patch failed.
    """
    source = instance.source(base_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    await run_git(dest.parent, "clone", "--quiet", "--no-checkout", source, str(dest), timeout=CLONE_TIMEOUT_SEC)
    await run_git(dest, "checkout", "--quiet", "-B", BASE_BRANCH, instance.base_commit)
    await run_git(dest, "remote", "remove", "origin", check=False)
    if instance.test_patch.strip():
        applied = await run_git(dest, "apply", "--whitespace=nowarn", "-", input_text=instance.test_patch, check=False)
        if not applied.ok:
            msg = f"the test patch of {instance.instance_id} does not apply to {instance.base_commit[:12]}"
            raise GitError(msg + f": {applied.stderr.strip()}", hint="check base_commit and test_patch in the file")
        await run_git(dest, "add", "--all")
        await run_git(dest, "commit", "--quiet", "--no-verify", "-m", "benchmark-head: test patch", env=IDENTITY)
    return await git_out(dest, "rev-parse", "HEAD")
