"""A model's token counter estimates short requests, loads the BPE in the background once requests
grow, and counts exactly when it is ready (issue 26: the load slowed every step of short runs)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

PROGRAM = """
from kwaak.llm import tokens
from kwaak.llm.tokens import BPE_FROM_TOKENS, TokenCounter, estimate_text, wait_for_bpe
from kwaak.messages import UserMessage

counter = TokenCounter("gpt-4o", background=True)
text = "hello world " * 50
print("first", counter.text(text) == estimate_text(text), counter.exact)
counter.raw([UserMessage(content=text)])  # a short request: an estimate, and no load starts
print("loading-small", "o200k_base" in tokens._loading)
counter.observe(1000, 5000)  # an estimate must not calibrate the real tokenizer
print("calibration", counter.calibration)
big = "word " * int(BPE_FROM_TOKENS * 4)
counter.raw([UserMessage(content=big)])  # a request that matters: the BPE loads in a thread
print("loading-big", "o200k_base" in tokens._loading)
wait_for_bpe("o200k_base", timeout=60)
print("later-exact", counter.exact, counter.text("hello world"))
other = TokenCounter("gpt-4o-mini", background=True)
print("shared", other.exact, other.text("hello world"))  # loaded already: exact from the start
"""


@pytest.mark.skipif(importlib.util.find_spec("bpe_openai") is None, reason="the tokenizer extra is not installed")
def test_counter_estimates_until_requests_grow_then_loads_the_bpe_and_counts_exactly() -> None:
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120, check=True)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["first"] == "True False", out.stdout
    assert lines["loading-small"] == "False"
    assert lines["calibration"] == "1.0"
    assert lines["loading-big"] == "True"
    assert lines["later-exact"] == "True 2"
    assert lines["shared"] == "True 2"
