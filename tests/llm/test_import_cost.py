"""Importing kwaak.llm must not import the provider SDKs or ML libraries (startup time)."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
import kwaak.llm
heavy = [m for m in ("openai", "anthropic", "httpx2", "torch", "sentence_transformers", "numpy") if m in sys.modules]
print(",".join(heavy))
"""


def test_import_kwaak_llm_is_light() -> None:
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""
