"""A model's token counter loads the BPE in the background and estimates until it is ready."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

PROGRAM = """
from kwaak.llm.tokens import TokenCounter, estimate_text, wait_for_bpe
counter = TokenCounter("gpt-4o", background=True)
text = "hello world " * 50
print("first", counter.text(text) == estimate_text(text), counter.exact)
counter.raw([])  # counted while the BPE loads: an estimate
counter.observe(1000, 5000)  # which must not calibrate the real tokenizer
print("calibration", counter.calibration)
wait_for_bpe("o200k_base", timeout=60)
print("later-exact", counter.exact, counter.text("hello world"))
"""


@pytest.mark.skipif(importlib.util.find_spec("bpe_openai") is None, reason="the tokenizer extra is not installed")
def test_counter_estimates_while_the_bpe_loads_then_counts_exactly() -> None:
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120, check=True)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["first"] == "True False", out.stdout
    assert lines["calibration"] == "1.0"
    assert lines["later-exact"] == "True 2"
