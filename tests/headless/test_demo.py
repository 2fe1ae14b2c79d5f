"""`kwaak demo --headless` works offline, through the real engine and tools."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_headless_fixes_the_bug_offline() -> None:
    env = {**os.environ, "OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "NO_PROXY": "*"}
    proc = subprocess.run(
        [sys.executable, "-m", "kwaak", "demo", "--headless"], capture_output=True, text=True, timeout=180, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "FAIL" in out  # the agent saw the failing tests first
    assert "applying patch to file `pricing/discounts.py`" in out
    assert "committed" in out
    assert "the tests pass now" in out
