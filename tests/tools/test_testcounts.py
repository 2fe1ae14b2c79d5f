"""Pass/fail counts from test runners' own summary lines (the tool line shows them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.executors.local import LocalExecutor
from kwaak.tools.base import ToolContext
from kwaak.tools.shell import shell_command_tool
from kwaak.tools.testcounts import runner_counts


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("...\n==== 2 failed, 10 passed, 1 skipped in 0.52s ====\n", "10 passed, 2 failed, 1 skipped"),
        ("collected 3 items\n\n===== 3 passed in 0.01s =====", "3 passed"),
        ("=== 1 failed, 4 passed, 2 warnings in 1.20s (0:00:01) ===", "4 passed, 1 failed"),
        ("========= 1 error in 0.10s =========", "1 error"),
        ("..F\n1 failed, 2 passed in 0.03s\n", "2 passed, 1 failed"),  # pytest -q
        ("FFF\n3 failed, 2 errors in 0.03s", "3 failed, 2 errors"),
        (
            "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n"
            "test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            "5 passed, 1 failed, 1 skipped",
        ),
        ("Tests:       1 failed, 5 passed, 6 total\nTime: 1.2 s", "5 passed, 1 failed"),
        ("      Tests  2 failed | 8 passed (10)", "8 passed, 2 failed"),
        ("  5 passing (12ms)\n  1 pending\n  2 failing\n", "5 passed, 2 failed, 1 skipped"),
        ("..F.\nRan 4 tests in 0.003s\n\nFAILED (failures=1)", "3 passed, 1 failed"),
        ("Ran 7 tests in 0.010s\n\nOK (skipped=2)", "5 passed, 2 skipped"),
        ("=== RUN TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\nFAIL\nFAIL\tex\t0.1s", "1 passed, 1 failed"),
        ("ok  \tgithub.com/x/a\t0.01s\nFAIL\tgithub.com/x/b\t0.02s\n", "1 passed, 1 failed packages"),
        ("hello world\nexit 0", None),
        ("", None),
    ],
)
def test_runner_summaries(output: str, expected: str | None) -> None:
    assert runner_counts(output) == expected


async def test_shell_command_reports_exit_code_and_counts(make_config: object, tmp_git_repo: Path) -> None:
    config = make_config()  # type: ignore[operator]
    assert isinstance(config, Config)
    ctx = ToolContext(session_id="s", config=config, executor=LocalExecutor(tmp_git_repo))
    tool = shell_command_tool()
    produced = await tool.handler(ctx, {"cmd": "printf '== 1 failed, 1 passed in 0.01s ==\\n'; exit 1"})
    assert not isinstance(produced, str)
    assert (produced.exit_code, produced.outcome, produced.is_error) == (1, "1 passed, 1 failed", False)
    assert produced.content.endswith("[exit code: 1]")  # what the model reads is unchanged
    quiet = await tool.handler(ctx, {"cmd": "true"})
    assert not isinstance(quiet, str) and (quiet.exit_code, quiet.outcome) == (0, None)
