"""The demo's scripted "model": a deterministic policy that fixes the sample's discount bug.

It looks at the conversation so far and picks the next step, the way a real model would: run the
tests, read the failing module, patch it, run the tests again, and stop when they pass. Every step
is a real tool call executed by the real engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from kwaak.llm.testing import ScriptedModel, Step
from kwaak.messages import AssistantMessage, Message, ToolResult, ToolSpec

TARGET = "pricing/discounts.py"
FIX = """--- a/pricing/discounts.py
+++ b/pricing/discounts.py
@@ -5,4 +5,4 @@
     \"\"\"Return ``price`` reduced by ``percent`` percent.\"\"\"
     if not 0 <= percent <= 100:
         raise ValueError("percent must be between 0 and 100")
-    return round(price * percent / 100, 2)
+    return round(price * (100 - percent) / 100, 2)
"""
TASK = "The discount tests fail. Find out why and fix the bug, then make sure all tests pass."


def _results(messages: Sequence[Message]) -> list[ToolResult]:
    return [m for m in messages if isinstance(m, ToolResult)]


def _tests_pass(result: ToolResult) -> bool:
    return "FAILED" not in result.content and "OK" in result.content


def demo_policy(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Step | AssistantMessage:
    """Decide the next step from what the tools returned so far."""
    results = _results(messages)
    names = [r.name for r in results]
    edit_tool = "patch_file" if any(t.name == "patch_file" for t in tools) else "write_file"
    if "run_tests" not in names:
        return Step(
            text="Observation: the user reports failing tests. Reasoning: I should see the failures first. "
            "Next step: run the tests.",
            tool_calls=(("run_tests", {}),),
        )
    if "read_file_with_line_numbers" not in names and "read_file" not in names:
        return Step(
            text="Observation: `test_ten_percent_off` expects 180.0 but gets 20.0, so the discount amount is "
            f"returned instead of the discounted price. Next step: read `{TARGET}`.",
            tool_calls=(("read_file_with_line_numbers", {"file_name": TARGET}),),
        )
    if edit_tool not in names:
        args = {"file_name": TARGET, "patch": FIX}
        if edit_tool == "write_file":
            args = {"file_name": TARGET, "content": _fixed_file(results)}
        return Step(
            text="Observation: `apply_discount` computes `price * percent / 100`, the discount itself. "
            "Reasoning: it must subtract it. Next step: fix the formula.",
            tool_calls=((edit_tool, args),),
        )
    last = results[-1]
    if last.name != "run_tests":
        return Step(text="The fix is in place. Next step: run the tests again.", tool_calls=(("run_tests", {}),))
    if _tests_pass(last):
        return Step(
            text="All tests pass: `apply_discount` now returns the price minus the discount. Done.",
            tool_calls=(("stop", {}),),
        )
    return Step(text="The tests still fail; I cannot fix this automatically.", tool_calls=(("stop", {}),))


def _fixed_file(results: list[ToolResult]) -> str:
    read = next(r for r in results if r.name in ("read_file_with_line_numbers", "read_file"))
    lines = [line.split("|", 1)[1] if "|" in line[:6] else line for line in read.content.splitlines()]
    text = "\n".join(lines) + "\n"
    return text.replace("price * percent / 100", "price * (100 - percent) / 100")


def _prompt_reply(prompt: str) -> str:
    if "git-branch-name" in prompt:
        return "fix-discount"
    if "commit message" in prompt:
        return "fix: subtract the discount instead of returning it"
    if "## Tool output" in prompt:  # the test-output summarizer: hand back the output itself
        section = prompt.split("## Tool output", 1)[1]
        return section.split("````", 2)[1].strip() if section.count("````") >= 2 else section.strip()
    return "Fix the discount calculation"


def demo_models(*, delay: float = 0.4) -> tuple[ScriptedModel, ScriptedModel]:
    """``(indexing, query)`` models for the demo."""
    indexing = ScriptedModel(prompt_reply=_prompt_reply)
    return indexing, ScriptedModel(demo_policy, prompt_reply=_prompt_reply, delay=delay)
