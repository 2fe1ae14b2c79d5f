"""Pass/fail counts from the summary lines test runners print (pure; for the tool line in the UI).

``runner_counts(output)`` reads pytest, unittest, cargo test, go test, jest/vitest and mocha
summaries and returns e.g. ``"12 passed, 2 failed"``; ``None`` when no runner summary is found.
Counts of repeated summaries (cargo prints one per test binary) are added up.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORDS = ("passed", "failed", "errors", "skipped")
_ALIASES = {
    "passing": "passed",
    "failing": "failed",
    "pending": "skipped",
    "error": "errors",
    "ignored": "skipped",
    "xfailed": "skipped",
    "deselected": "",
    "xpassed": "passed",
    "warnings": "",
    "warning": "",
    "total": "",
    "todo": "skipped",
    "measured": "",
    "filtered out": "",
    "failures": "failed",
}
_COUNT = re.compile(
    r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|ignored|measured|filtered out)"
)
# pytest: "==== 2 failed, 10 passed, 1 skipped in 0.52s ====" (with -q: no "=" around it).
_PYTEST = re.compile(
    r"^=* ?(\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)\b.*) in [\d.]+s"
    r"(?: \(.*\))?(?: =+)?$",
    re.MULTILINE,
)
# cargo: "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; ..."
_CARGO = re.compile(r"^test result: \w+\. (.*)$", re.MULTILINE)
# jest / vitest: "Tests:       1 failed, 5 passed, 6 total" / "      Tests  1 failed | 5 passed (6)"
_JEST = re.compile(r"^\s*Tests:?\s+(.*\d+ (?:passed|failed).*)$", re.MULTILINE)
# mocha: "  5 passing (12ms)" / "  1 failing"
_MOCHA = re.compile(r"^\s+(\d+) (passing|failing|pending)\b", re.MULTILINE)
# unittest: "Ran 7 tests in 0.003s" then "OK" / "FAILED (failures=1, errors=2, skipped=1)"
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s$", re.MULTILINE)
_UNITTEST_RESULT = re.compile(r"^(OK|FAILED)(?: \((.*)\))?$", re.MULTILINE)
# go test -v: "--- PASS: TestX (0.00s)"; without -v only package lines "ok  \tpkg" / "FAIL\tpkg".
_GO_TEST = re.compile(r"^\s*--- (PASS|FAIL|SKIP): ", re.MULTILINE)
_GO_PACKAGE = re.compile(r"^(ok|FAIL)\s+\S+\s", re.MULTILINE)


def _add(counts: Counter[str], pairs: Iterable[tuple[str, str]]) -> None:
    for number, word in pairs:
        key = _ALIASES.get(word, word)
        if key:
            counts[key] += int(number)


def _format(counts: Counter[str], unit: str = "") -> str | None:
    parts = [
        f"{counts[word]} {'error' if word == 'errors' and counts[word] == 1 else word}"
        for word in _WORDS
        if counts[word]
    ]
    if not parts:
        return None
    return ", ".join(parts) + unit


def runner_counts(output: str) -> str | None:
    """``"N passed, M failed"`` from a test runner's output, or ``None``."""
    counts: Counter[str] = Counter()
    for pattern in (_PYTEST, _CARGO, _JEST):
        for summary in pattern.findall(output):
            _add(counts, _COUNT.findall(summary.replace("|", ",")))
        if counts:
            return _format(counts)
    _add(counts, ((n, w) for n, w in _MOCHA.findall(output)))
    if counts:
        return _format(counts)
    if ran := _UNITTEST_RAN.findall(output):
        return _unittest(sum(int(n) for n in ran), _UNITTEST_RESULT.findall(output))
    return _go(output)


def _unittest(ran: int, results: list[tuple[str, str]]) -> str | None:
    counts: Counter[str] = Counter()
    for _status, details in results:
        for item in filter(None, (d.strip() for d in details.split(","))):
            word, _, number = item.partition("=")
            if number.isdigit():
                _add(counts, [(number, {"expected failures": "skipped"}.get(word, word))])
    counts["passed"] = max(0, ran - counts["failed"] - counts["errors"] - counts["skipped"])
    return _format(counts)


def _go(output: str) -> str | None:
    tests = Counter(_GO_TEST.findall(output))
    if tests:
        counts = Counter({"passed": tests["PASS"], "failed": tests["FAIL"], "skipped": tests["SKIP"]})
        return _format(counts)
    packages = Counter(_GO_PACKAGE.findall(output))
    if packages:
        return _format(Counter({"passed": packages["ok"], "failed": packages["FAIL"]}), " packages")
    return None
