"""``run-agent --output text`` tells a failed command from a successful one (exit code, test counts)."""

from __future__ import annotations

from pathlib import Path

from tests.scripted import run_kwaak, tool, write_scripted_config


def test_text_output_marks_a_non_zero_exit_as_failed(tmp_git_repo: Path) -> None:
    script = [
        tool("shell_command", cmd="echo fine"),
        tool("shell_command", cmd="echo broken; exit 3"),
        tool("stop"),
    ]
    config = write_scripted_config(tmp_git_repo, script)
    proc = run_kwaak(tmp_git_repo, config, "-s", "run-agent", "-i", "run two commands", "--output", "text")
    lines = proc.stdout.splitlines()
    assert any(line.strip().startswith("✓ shell_command: fine") for line in lines), proc.stdout
    assert any(line.strip().startswith("✗ shell_command (exit 3): broken") for line in lines), proc.stdout
