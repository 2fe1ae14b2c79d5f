"""`kwaak eval patch`: scripted agents edit the bundled fixture through the real engine and tools."""

from __future__ import annotations

import json
from pathlib import Path

from kwaak.evals.patch_eval import (
    EXPECTED_ADDITIONS,
    EXPECTED_REMOVALS,
    FIXTURE,
    SCRIPTED_SOLUTION,
    TARGET,
    check_diff,
)
from kwaak.tools.patch import apply_patch
from tests.conftest import git
from tests.evals.conftest import tool_step, write_project_config, write_script

HANDLER_ONLY = """--- a/requests/models.py
+++ b/requests/models.py
@@ -668,3 +668,5 @@
                 except DecodeError as e:
                     raise ContentDecodingError(e)
+                except socket.error as e:
+                    raise ConnectionError(e)
             except AttributeError:
"""


def test_fixture_is_a_long_python_module_with_the_bug() -> None:
    source = FIXTURE.read_text(encoding="utf-8")
    assert len(source.splitlines()) > 750
    compile(source, str(FIXTURE), "exec")
    assert EXPECTED_REMOVALS[0] + "\n" in source
    assert all(line not in source for line in EXPECTED_ADDITIONS[:2])


def test_scripted_solution_fails_once_then_applies_to_valid_python() -> None:
    steps = json.loads(SCRIPTED_SOLUTION.read_text(encoding="utf-8"))
    patches = [c["arguments"]["patch"] for s in steps for c in s["tool_calls"] if c["name"] == "patch_file"]
    assert len(patches) == 2
    source = FIXTURE.read_text(encoding="utf-8")
    fixed = apply_patch(source, patches[1]).text
    compile(fixed, "models.py", "exec")
    assert "            finally:\n                self._content_consumed = True\n" in fixed


def test_eval_patch_with_the_scripted_solution(tmp_git_repo: Path, kwaak) -> None:
    write_project_config(tmp_git_repo, script=SCRIPTED_SOLUTION)
    out_dir = tmp_git_repo.parent / "results"
    code, out, err = kwaak(tmp_git_repo, "eval", "patch", "-i", "2", "-o", str(out_dir))
    assert code == 0, out + err
    assert "Success rate: 2/2 iterations" in out
    assert "Total time:" in out and "Time:" in out
    for number in (1, 2):
        directory = out_dir / "patch" / f"iteration_{number}"
        assert sorted(p.name for p in directory.iterdir()) == [
            "agent.log",
            "changes.diff",
            "metrics",
            "trajectory.jsonl",
        ]
        metrics = json.loads((directory / "metrics").read_text())
        assert metrics["success"] is True and metrics["status"] == "done"
        assert metrics["steps"] == 4
        assert metrics["tool_calls"] == 4 and metrics["failed_tool_calls"] == 1
        # Real counts from the session meter: the first request alone carries the system prompt.
        assert metrics["input_tokens"] > 2000 and metrics["output_tokens"] > 100
        diff = (directory / "changes.diff").read_text()
        assert diff.startswith(f"diff --git a/{TARGET} b/{TARGET}")
        assert "+            finally:\n" in diff and "-            self._content_consumed = True\n" in diff
        log = (directory / "agent.log").read_text()
        assert "self.content_consumed = True" in log  # the failed patch's full answer is in the log
        events = [json.loads(line) for line in (directory / "trajectory.jsonl").read_text().splitlines()]
        finished = [e for e in events if e["type"] == "tool_call_finished"]
        assert [(e["name"], e["ok"]) for e in finished] == [
            ("read_file_with_line_numbers", True),
            ("patch_file", False),
            ("patch_file", True),
            ("stop", True),
        ]
    # The user's repository is not touched.
    assert git(tmp_git_repo, "status", "--porcelain") == ""


def test_eval_patch_reports_a_partial_fix(tmp_git_repo: Path, kwaak) -> None:
    script = write_script(
        tmp_git_repo.parent / "partial.json",
        [
            tool_step("read_file_with_line_numbers", file_name=TARGET),
            tool_step("patch_file", text="Adding the handler.", file_name=TARGET, patch=HANDLER_ONLY),
            tool_step("stop"),
        ],
    )
    write_project_config(tmp_git_repo, script=script)
    out_dir = tmp_git_repo.parent / "results"
    code, out, _ = kwaak(tmp_git_repo, "eval", "patch", "-o", str(out_dir))
    assert code == 1
    assert "Success rate: 0/1 iterations" in out
    directory = out_dir / "patch" / "iteration_1"
    failed = (directory / "failed").read_text()
    missing_removals, missing_additions, found_removals, found_additions = failed.strip().split("\n\n")[1:]
    assert missing_removals.splitlines()[1:] == list(EXPECTED_REMOVALS)
    assert missing_additions.splitlines()[1:] == list(EXPECTED_ADDITIONS[2:])
    assert found_removals.splitlines()[1:] == []
    assert found_additions.splitlines()[1:] == list(EXPECTED_ADDITIONS[:2])
    assert json.loads((directory / "metrics").read_text())["success"] is False


def test_eval_patch_without_any_edit_fails_with_an_empty_diff(tmp_git_repo: Path, kwaak) -> None:
    write_project_config(tmp_git_repo)  # no script: the model stops at once
    out_dir = tmp_git_repo.parent / "results"
    code, out, _ = kwaak(tmp_git_repo, "eval", "patch", "-i", "1", "-o", str(out_dir))
    assert code == 1
    directory = out_dir / "patch" / "iteration_1"
    assert (directory / "changes.diff").read_text() == ""
    assert "Missing additions:\n" + "\n".join(EXPECTED_ADDITIONS) in (directory / "failed").read_text()


def test_check_diff_looks_only_at_the_fixture_and_ignores_blank_lines() -> None:
    other = "diff --git a/other.py b/other.py\n--- a/other.py\n+++ b/other.py\n@@ -1 +1 @@\n" + "".join(
        f"+{line}\n" for line in EXPECTED_ADDITIONS
    )
    target = (
        f"diff --git a/{TARGET} b/{TARGET}\n--- a/{TARGET}\n+++ b/{TARGET}\n@@ -1,3 +1,3 @@\n"
        f"-{EXPECTED_REMOVALS[0]}\n-\n+\n+{EXPECTED_ADDITIONS[2]}\n+   \n"
    )
    check = check_diff(other + target)
    assert check.removals == EXPECTED_REMOVALS
    assert check.additions == (EXPECTED_ADDITIONS[2],)
    assert check.missing_additions == (EXPECTED_ADDITIONS[0], EXPECTED_ADDITIONS[1], EXPECTED_ADDITIONS[3])
    assert not check.success
