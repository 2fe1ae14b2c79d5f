"""Startup benchmark: wall time of ``python -m kwaak --help`` and of ``import kwaak.llm``.

Target: ``kwaak --help`` under 0.5 s, so nothing heavy (provider SDKs, torch, textual...) may be
imported at module import time. Prints the median of several cold runs (each a fresh interpreter)
and, for reference, the bare interpreter start-up and the lazily imported SDKs.

Usage: ``python bench/bench_startup.py [--runs N] [--json FILE]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_HELP_SEC = 0.5


def wall_time(args: list[str], runs: int) -> tuple[float, bool]:
    """Median wall time of running ``python <args>`` ``runs`` times, and whether all runs succeeded."""
    times: list[float] = []
    ok = True
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, *args], capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        ok = ok and proc.returncode == 0
    return statistics.median(times), ok


def report(label: str, args: list[str], runs: int, baseline: float | None = None) -> float:
    """Measure and print one line."""
    median, ok = wall_time(args, runs)
    extra = f"  (+{median - baseline:.3f} s over bare python)" if baseline is not None else ""
    status = "" if ok else "  [FAILED: non-zero exit]"
    print(f"{label:<44} {median:7.3f} s{extra}{status}")
    return median


def main() -> int:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description="kwaak startup benchmark")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    runs = args.runs
    figures: dict[str, float] = {}

    print(f"median of {runs} cold runs, {sys.executable}")
    bare = figures["python_s"] = report("python -c pass", ["-c", "pass"], runs)
    if importlib.util.find_spec("kwaak.cli") is not None:
        help_time = figures["kwaak_help_s"] = report("python -m kwaak --help", ["-m", "kwaak", "--help"], runs, bare)
        verdict = "OK" if help_time < TARGET_HELP_SEC else "OVER TARGET"
        print(f"{'  target for kwaak --help':<44} {TARGET_HELP_SEC:7.3f} s  -> {verdict}")
    else:
        print("kwaak.cli does not exist yet: measuring `import kwaak.llm` only")
    figures["import_kwaak_llm_s"] = report("python -c 'import kwaak.llm'", ["-c", "import kwaak.llm"], runs, bare)
    report("  for reference: import openai", ["-c", "import openai"], max(1, runs // 2), bare)
    report("  for reference: import anthropic", ["-c", "import anthropic"], max(1, runs // 2), bare)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
