"""The SWE-bench harness end to end on tiny local instances (a bare mirror, scripted agents)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from kwaak.backend import Models
from kwaak.errors import UsageError
from kwaak.evals.swebench import Harness, SweOptions, load_instances
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.messages import Message, ToolResult, ToolSpec, UserMessage
from tests.conftest import git
from tests.evals.conftest import tool_step, write_project_config, write_script

OPS = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n"
HEADER = "--- a/calc/ops.py\n+++ b/calc/ops.py\n"
ADD_FIX = HEADER + "@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
MUL_FIX = HEADER + "@@ -5,2 +5,2 @@\n def mul(a, b):\n-    return a + b\n+    return a * b\n"
TEST_ADD = "import unittest\n\nfrom calc.ops import add\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"  # noqa: E501
TEST_MUL = TEST_ADD.replace("add", "mul").replace("5)", "6)")


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, str, dict[str, str]]:
    """A bare mirror of a buggy project, its base commit, and test patches for two bugs."""
    work = tmp_path / "upstream"
    (work / "calc").mkdir(parents=True)
    (work / "tests").mkdir()
    (work / "calc" / "__init__.py").write_text("")
    (work / "calc" / "ops.py").write_text(OPS)
    (work / "tests" / "__init__.py").write_text("")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "calc")
    base = git(work, "rev-parse", "HEAD")
    patches = {}
    for name, body in (("add", TEST_ADD), ("mul", TEST_MUL)):
        (work / "tests" / f"test_{name}.py").write_text(body)
        git(work, "add", "-A")
        patches[name] = git(work, "diff", "--cached", "HEAD") + "\n"
        git(work, "reset", "-q", "--hard", base)
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror)], check=True)
    return mirror, base, patches


def instance(mirror: Path, base: str, name: str, test_patch: str, **extra: object) -> dict[str, object]:
    return {
        "instance_id": f"local__calc-{name}",
        "repo": "local/calc",
        "base_commit": base,
        "problem_statement": f"`{name}` returns the wrong result.",
        "test_patch": test_patch,
        "FAIL_TO_PASS": json.dumps([f"tests/test_{name}.py::T::test_{name}"]),
        "PASS_TO_PASS": "[]",
        "repo_path": mirror.name,  # relative to the instances file
        "test_cmd": f"{sys.executable} -m unittest -q tests.test_{name}",
        "version": "1.0",
        **extra,
    }


def write_instances(path: Path, items: Sequence[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


def run_tests_at_base(mirror: Path, base: str, patches: Sequence[str], test: str, dest: Path) -> int:
    """Clone the mirror at ``base``, apply ``patches`` in order, run the test; returns its exit code."""
    subprocess.run(["git", "clone", "-q", str(mirror), str(dest)], check=True)
    git(dest, "checkout", "-q", base)
    for patch in patches:
        subprocess.run(["git", "apply", "-"], cwd=dest, input=patch, text=True, check=True)
    return subprocess.run([sys.executable, "-m", "unittest", "-q", test], cwd=dest, capture_output=True).returncode


def test_swe_bench_cli_end_to_end_and_resume(tmp_git_repo: Path, upstream, kwaak) -> None:
    mirror, base, patches = upstream
    script = write_script(
        tmp_git_repo.parent / "agent.json",
        [
            tool_step("read_file_with_line_numbers", text="Reading the code.", file_name="calc/ops.py"),
            tool_step("patch_file", text="`add` subtracts.", file_name="calc/ops.py", patch=ADD_FIX),
            # A misbehaving agent also edits the test: that file must stay out of the prediction.
            tool_step("write_file", file_name="tests/test_add.py", content=TEST_ADD + "# touched\n"),
            tool_step("run_tests"),
            tool_step("stop", text="Fixed."),
        ],
    )
    write_project_config(tmp_git_repo, script=script)
    broken = instance(mirror, base, "broken", "--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n")
    good = instance(mirror, base, "add", patches["add"])
    instances = write_instances(mirror.parent / "instances.jsonl", [good, broken])
    output = tmp_git_repo.parent / "swe-out"
    args = ("eval", "swe-bench", "--instances", str(instances), "--output", str(output), "--parallel", "2")
    code, out, err = kwaak(tmp_git_repo, *args, "--model-name", "scripted-test", "--max-steps", "10")
    assert code == 1, out + err  # one instance could not be prepared
    assert "local__calc-broken: error: the test patch of local__calc-broken does not apply" in out
    [prediction] = [json.loads(line) for line in (output / "predictions.jsonl").read_text().splitlines()]
    assert set(prediction) == {"instance_id", "model_name_or_path", "model_patch"}
    assert prediction["instance_id"] == "local__calc-add"
    assert prediction["model_name_or_path"] == "scripted-test"
    assert "a/calc/ops.py" in prediction["model_patch"] and "tests/test_add.py" not in prediction["model_patch"]

    # The prediction applies to base_commit and, with the test patch, makes the failing test pass.
    fixed = run_tests_at_base(mirror, base, [prediction["model_patch"], patches["add"]], "tests.test_add", output / "a")
    unfixed = run_tests_at_base(mirror, base, [patches["add"]], "tests.test_add", output / "b")
    assert (fixed, unfixed) == (0, 1)

    directory = output / "instances" / "local__calc-add"
    result = json.loads((directory / "result.json").read_text())
    assert result["status"] == "completed" and result["local_grade"] == {"patch_applied": True, "resolved": True}
    assert result["patch_files"] == ["calc/ops.py"]
    assert result["agent"]["status"] == "done" and result["agent"]["steps"] == 5
    assert result["agent"]["input_tokens"] > 0
    events = [json.loads(line) for line in (directory / "trajectory.jsonl").read_text().splitlines()]
    assert [e["name"] for e in events if e["type"] == "tool_call_finished"] == [
        "read_file_with_line_numbers",
        "patch_file",
        "write_file",
        "run_tests",
        "stop",
    ]
    assert (directory / "patch.diff").read_text() == prediction["model_patch"]
    assert "OK" in (directory / "test_output.txt").read_text()
    totals = json.loads((output / "results.json").read_text())["totals"]
    assert totals | {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0, "agent_seconds": 0} == {
        "instances": 2,
        "ran": 1,
        "skipped": 0,
        "errors": 1,
        "with_patch": 1,
        "graded_locally": 1,
        "resolved_locally": 1,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0,
        "agent_seconds": 0,
    }

    # Running again skips what is done (resumable) and appends nothing.
    code, out, _ = kwaak(tmp_git_repo, *args)
    assert code == 0
    assert "local__calc-add: already done, skipped" in out and "local__calc-broken: already done, skipped" in out
    assert len((output / "predictions.jsonl").read_text().splitlines()) == 1


class ConcurrencyProbe:
    """A policy fixing whichever function the issue names, recording how many requests overlap."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Step:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.3)
        finally:
            self.in_flight -= 1
        if any(isinstance(m, ToolResult) for m in messages):
            return call("stop")
        issue = next(m.content for m in messages if isinstance(m, UserMessage) and "<issue>" in m.content)
        return call("patch_file", file_name="calc/ops.py", patch=ADD_FIX if "`add`" in issue else MUL_FIX)


async def test_instances_run_in_parallel(make_config, tmp_path: Path, upstream) -> None:
    mirror, base, patches = upstream
    path = write_instances(
        mirror.parent / "two.jsonl",
        [instance(mirror, base, "add", patches["add"]), instance(mirror, base, "mul", patches["mul"])],
    )
    probe = ConcurrencyProbe()
    model = ScriptedModel(probe)
    options = SweOptions(output=tmp_path / "out", parallel=2, timeout=60, base_dir=mirror.parent)
    harness = Harness(make_config(), options, models=lambda _: Models(indexing=ScriptedModel(), query=model))
    summary = await harness.run(load_instances(path))
    assert probe.peak == 2
    assert sorted((r["instance_id"], r["local_grade"]["resolved"]) for r in summary.results) == [
        ("local__calc-add", True),
        ("local__calc-mul", True),
    ]
    predictions = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert {p["instance_id"] for p in predictions} == {"local__calc-add", "local__calc-mul"}


async def test_a_timed_out_agent_is_stopped_and_still_yields_a_prediction(make_config, tmp_path: Path, upstream):
    mirror, base, patches = upstream
    path = write_instances(mirror.parent / "one.jsonl", [instance(mirror, base, "add", patches["add"])])
    model = ScriptedModel([call("shell_command", cmd="sleep 41.7"), call("stop")])
    options = SweOptions(output=tmp_path / "out", timeout=1.0, base_dir=mirror.parent)
    harness = Harness(make_config(), options, models=lambda _: Models(indexing=ScriptedModel(), query=model))
    started = time.monotonic()
    [result] = (await harness.run(load_instances(path))).results
    assert time.monotonic() - started < 15
    assert result["agent"]["status"] == "timeout" and result["agent"]["error_kind"] == "timeout"
    assert result["local_grade"] == {"patch_applied": True, "resolved": False}
    assert "sleep 41.7" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    [prediction] = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert prediction["model_patch"] == ""


def test_instance_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "i.jsonl"
    good = {"instance_id": "a", "repo": "o/r", "base_commit": "abcdef", "problem_statement": "p"}
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "base_commit": ""}) + "\n")
    with pytest.raises(UsageError, match=r"i.jsonl:3: not a valid SWE-bench instance: base_commit"):
        load_instances(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(UsageError, match="appear more than once: a"):
        load_instances(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "instance_id": "b"}) + "\n")
    assert [i.instance_id for i in load_instances(path, only=("b",))] == ["b"]
    with pytest.raises(UsageError, match="no instance zzz"):
        load_instances(path, only=("zzz",))
    [first, _] = load_instances(path)
    assert first.source(tmp_path) == "https://github.com/o/r.git"
