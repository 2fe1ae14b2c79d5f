"""Command policy: ``[[policy.rules]]`` allow, prompt for, or forbid risky shell commands.

A command line is parsed (tree-sitter-bash, :mod:`kwaak.tools.shparse`) into every simple command
it would run — including ``sh -c``/``bash -lc`` scripts, ``eval``, ``$(...)`` and commands behind
``env``/``sudo``/``xargs``/``nohup``/``timeout``... — and each argv is matched against each rule.
A rule ``git push --force`` matches a command named ``git`` (or ``/usr/bin/git``) whose
non-option words contain ``push`` (in order) and whose options include ``--force``, in any order
(``git push origin main --force``; ``-rf`` also matches ``-r -f``). The strictest decision wins.

Fail closed: when part of a line can only be known when it runs (``$CMD``, ``sh -c "$X"``,
``... | sh``, globs, a parse error) and a ``prompt``/``forbid`` rule could match, the decision is
``prompt`` (refused headless unless ``policy.headless_prompt = "allow"``). The policy is a guard
against mistakes and naive injection, not a sandbox: scripts written to files, other interpreters
(``python -c``) and git aliases are not inspected (see docs/security.md). Off by default.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kwaak.config.model import PolicyConfig, PolicyRule
from kwaak.tools.shparse import DYNAMIC, Word, parse

Decision = Literal["allow", "prompt", "forbid"]
Match = Literal["yes", "maybe", "no"]
UNKNOWN_REASON = "part of the command is only known when it runs, so the command policy cannot check it"
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


def decide(policy: PolicyConfig, command: str) -> Verdict:
    """The strictest decision of any rule matching any simple command ``command`` would run."""
    verdict = Verdict("allow")
    if not policy.rules:
        return verdict
    parsed = parse(command)
    strict = [rule for rule in policy.rules if rule.decision != "allow"]
    for argv in parsed.commands:
        for rule in policy.rules:
            match = rule_matches(rule, argv)
            if match == "yes":
                verdict = _stricter(verdict, Verdict(rule.decision, rule.prefix, rule.reason))
            elif match == "maybe" and rule.decision != "allow":
                verdict = _stricter(verdict, Verdict("prompt", rule.prefix, UNKNOWN_REASON))
    if not parsed.complete and strict:
        verdict = _stricter(verdict, Verdict("prompt", strict[0].prefix, UNKNOWN_REASON))
    return verdict


def _stricter(current: Verdict, candidate: Verdict) -> Verdict:
    return candidate if _RANK[candidate.decision] > _RANK[current.decision] else current


def rule_matches(rule: PolicyRule, argv: Sequence[Word]) -> Match:
    """Whether ``argv`` is a command the rule names: ``yes``, ``no``, or ``maybe`` (dynamic words)."""
    try:
        words = shlex.split(rule.prefix)
    except ValueError:
        words = rule.prefix.split()
    if not words or not argv:
        return "no"
    dynamic = any(w is DYNAMIC for w in argv)
    name = argv[0]
    if name is DYNAMIC:
        return "maybe"
    if words[0] not in (name, name.rsplit("/", 1)[-1]):
        return "no"
    static = [w for w in argv[1:] if w is not None]
    wanted_options = [w for w in words[1:] if w.startswith("-") and w != "-"]
    wanted_words = [w for w in words[1:] if not (w.startswith("-") and w != "-")]
    found = _in_order(wanted_words, [w for w in static if not (w.startswith("-") and w != "-")])
    found = found and all(_has_option(option, static) for option in wanted_options)
    if found:
        return "yes"
    return "maybe" if dynamic else "no"


def _in_order(wanted: list[str], words: list[str]) -> bool:
    it = iter(words)
    return all(any(w == want for w in it) for want in wanted)


def _has_option(option: str, words: list[str]) -> bool:
    if option.startswith("--"):
        return any(w == option or w.startswith(option + "=") for w in words)
    if option in words:
        return True
    bundles = [w[1:] for w in words if w.startswith("-") and not w.startswith("--")]
    return all(any(letter in bundle for bundle in bundles) for letter in option[1:])


def refusal(command: str, verdict: Verdict, *, why: str) -> str:
    """The text the model reads when a command is not run."""
    reason = f" ({verdict.reason})" if verdict.reason else ""
    return (
        f"The command `{command}` was not run: {why}{reason}. "
        "Find another way to reach the goal, or explain to the user what you need."
    )
