"""Command policy: ``[[policy.rules]]`` allow, prompt for, or forbid risky shell commands.

Rules match by command prefix, word by word (``git push --force`` matches ``git push --force
origin main`` but not ``git push``). Every simple command of a compound shell line is checked
(``cd x && git push --force``); the strictest decision wins. Off by default: no rules, no checks.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kwaak.config.model import PolicyConfig

Decision = Literal["allow", "prompt", "forbid"]
_SEGMENTS = re.compile(r"&&|\|\||[;|&\n()`]|\$\(")
_RANK: dict[Decision, int] = {"allow": 0, "prompt": 1, "forbid": 2}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The policy's answer for one command."""

    decision: Decision
    rule: str | None = None
    reason: str | None = None


def command_of(tool: str, args: Mapping[str, Any]) -> str | None:
    """The shell command a tool call would run, for the tools that run commands."""
    if tool == "shell_command":
        return str(args.get("cmd") or "")
    if tool == "git":
        return "git " + str(args.get("command") or "")
    return None


def _words(segment: str) -> list[str]:
    try:
        words = shlex.split(segment, comments=True)
    except ValueError:
        words = segment.split()
    while words and "=" in words[0] and not words[0].startswith("="):
        words = words[1:]  # VAR=value prefixes
    return words


def decide(policy: PolicyConfig, command: str) -> Verdict:
    """The strictest decision of any rule matching any simple command in ``command``."""
    verdict = Verdict("allow")
    if not policy.rules:
        return verdict
    for segment in _SEGMENTS.split(command):
        words = _words(segment)
        if not words:
            continue
        for rule in policy.rules:
            prefix = _words(rule.prefix)
            if prefix and words[: len(prefix)] == prefix and _RANK[rule.decision] > _RANK[verdict.decision]:
                verdict = Verdict(rule.decision, rule.prefix, rule.reason)
    return verdict


def refusal(command: str, verdict: Verdict, *, why: str) -> str:
    """The text the model reads when a command is not run."""
    reason = f" ({verdict.reason})" if verdict.reason else ""
    return (
        f"The command `{command}` was not run: {why}{reason}. "
        "Find another way to reach the goal, or explain to the user what you need."
    )
