"""Run every benchmark in ``bench/`` and judge each figure of PRODUCT.md's quality bar.

Each benchmark runs as its own process (one after the other, so they do not disturb each other's
timings) with settings chosen so that the whole suite finishes in under ten minutes on two cores.
Every script writes its numbers with ``--json FILE``; this script collects them, prints one table
(figure, value, target, PASS/FAIL, peer comparison) and writes ``bench/results/latest.json``.
Each benchmark's output goes to ``bench/results/logs/<name>.log``.

Usage::

    .venv/bin/python bench/run_all.py                 # everything (~7-12 minutes)
    .venv/bin/python bench/run_all.py --only agents tui
    .venv/bin/python bench/run_all.py --list

Exit code: 0 when no figure failed its target, 1 otherwise (a benchmark that crashed counts as failed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
AIDER_REPO_MAP_SEC = 39.0
"""aider's repo map, cold, on CPython's Lib/ on this machine (PRODUCT.md; aider is not installed here)."""


@dataclass
class Figure:
    """One measured figure and its verdict."""

    name: str
    value: float | None
    unit: str
    target: str = ""
    passed: bool | None = None
    """``None``: informational (no target), or not measured."""
    peer: str = ""
    """A comparison: a peer tool or the raw mechanism, measured here unless it says otherwise."""
    bench: str = ""

    @property
    def verdict(self) -> str:
        """PASS, FAIL, info, or n/a (not measured)."""
        if self.value is None:
            return "n/a" if self.passed is None else "FAIL"
        return "info" if self.passed is None else ("PASS" if self.passed else "FAIL")


Extract = Callable[[dict[str, Any]], list[Figure]]


@dataclass
class Bench:
    """A benchmark script, its quick arguments and how to read its JSON."""

    name: str
    script: str
    args: Sequence[str]
    timeout: float
    extract: Extract
    about: str = ""


@dataclass
class Outcome:
    """What running one benchmark produced."""

    name: str
    seconds: float
    exit_code: int | None
    data: Any = None
    error: str | None = None
    figures: list[Figure] = field(default_factory=list)


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def agents(d: dict[str, Any]) -> list[Figure]:
    ratio, overhead = d["parallel_ratio"], d["step_overhead_ms"]
    title = f"{d['agents']} agents × {d['steps']} steps (500 ms model): wall / one agent's"
    return [
        Figure(
            title, ratio, "×", "≤ 1.25", ratio <= 1.25, f"kwaak 0.16.2: ≈ {d['agents']}× (one mutex serializes them)"
        ),
        Figure(f"one agent × {d['steps']} steps", d["one_s"], "s"),
        Figure("framework overhead per agent step (local)", overhead, "ms", "≤ 10", overhead <= 10),
        Figure("  same, with the commit hook after each step", d["step_overhead_ms_commits"], "ms"),
    ]


def agents_scale(d: dict[str, Any]) -> list[Figure]:
    ratio, rss = d["parallel_ratio"], d["rss_per_extra_agent_mb"]
    return [
        Figure(
            f"{d['agents']} agents × {d['steps']} steps (500 ms model): wall / one agent's",
            ratio,
            "×",
            "≤ 1.25",
            ratio <= 1.25,
        ),
        Figure("  peak RSS per extra agent", rss, "MB", "≤ 5", rss <= 5),
    ]


def process(d: dict[str, Any]) -> list[Figure]:
    launch, gap, ratio = d["launch_to_agent_request_s"], d["step_gap_ms"], d.get("edit_step_ratio")
    figures = [
        Figure("`run-agent` launch → the agent's first request (median of 5)", launch, "s", "≤ 0.3", launch <= 0.3),
        Figure("  launch → first request of any kind (title, branch name)", d["launch_to_first_request_s"], "s"),
        Figure(f"step gap, {d['steps']} × `true`, instant model", gap, "ms", "≤ 20", gap <= 20),
        Figure("  peak RSS of one `run-agent` process", d["peak_rss_mb"], "MB"),
    ]
    if ratio is not None:
        title = f"editing step time, generated ÷ fixed commit message ({d['edit_latency_s']:g} s model)"
        figures.append(Figure(title, ratio, "×", "≤ 1.10", ratio <= 1.10))
    for name, row in d.get("peers", {}).items():  # installed peers only (bench/process_peers.py)
        figures.append(
            Figure(f"  peer {name}: launch → its first agent request", row["launch_to_agent_request_s"], "s")
        )
        figures.append(Figure(f"  peer {name}: step gap", row["step_gap_ms"], "ms"))
    return figures


def prompt(d: dict[str, Any]) -> list[Figure]:
    return [
        Figure(
            f"fixed prefix, {label}: system prompt + {row['tools']} tool schemas ({d['tokenizer']})",
            row["total_tokens"],
            "tokens",
            peer=f"{row['system_tokens']} + {row['tools_tokens']}; identical across builds: {row['stable']}",
        )
        for label, row in d.items()
        if isinstance(row, dict)
    ]


def tui_keys(d: dict[str, Any]) -> list[Figure]:
    value = p95(d["keystroke_ms"])
    busy = f"{d.get('busy_agents', '?')}/{d['agents']} agents busy, {d.get('events_per_s', 0):.0f} events/s rendered"
    return [Figure(f"keystroke latency p95, {d['agents']} agents streaming", value, "ms", "≤ 50", value <= 50, busy)]


def executors(d: dict[str, Any]) -> list[Figure]:
    figures = []
    for name, row in d["executors"].items():
        ours, raw = row["ours_ms"], row["raw_ms"]
        if ours is None or raw is None:
            figures.append(Figure(f"{name} executor per command", None, "ms", peer=row["note"]))
            continue
        ratio = ours / raw
        if name == "docker":
            figures.append(Figure("docker exec per command: ours / raw", ratio, "×", "≤ 1.2", ratio <= 1.2))
        else:
            figures.append(Figure(f"{name} executor per command: ours / raw", ratio, "×"))
        figures[-1].peer = f"{ours:.1f} ms vs {raw:.1f} ms {row['note']}"
    return figures


def index(d: dict[str, Any]) -> list[Figure]:
    cold = {row["label"]: row for row in d["cold"]}
    keyword = next(row for label, row in cold.items() if label.startswith("keyword"))
    rg = d["ripgrep_ms"]
    q = d["query"]
    chunks = int(q["chunks"])
    figures = [
        Figure(
            f"cold index of CPython Lib/ ({keyword['files']} files): keyword search ready",
            keyword["lexical"],
            "s",
            f"< {AIDER_REPO_MAP_SEC:.0f} s",
            keyword["lexical"] < AIDER_REPO_MAP_SEC,
            f"aider repo map {AIDER_REPO_MAP_SEC:.0f} s (PRODUCT.md; not installed here)",
        ),
        Figure("re-index after one changed file", d["reindex_s"], "s", "≤ 1", d["reindex_s"] <= 1.0),
        Figure(
            f"hybrid query p50 at {chunks} chunks",
            q["chunks_p50"],
            "ms",
            "≤ 50 (≥ 100k chunks)",
            q["chunks_p50"] <= 50 and chunks >= 100_000,
            f"ripgrep over the tree: {rg.get('rg identifier', 0):.0f} ms (identifier), "
            f"{rg.get('rg -i phrase', 0):.0f} ms (-i phrase)",
        ),
        Figure(f"  file-ranked query p50 at {chunks} chunks", q["files_p50"], "ms"),
    ]
    for label, row in cold.items():
        if row.get("dense") is not None:
            figures.append(Figure(f"  cold index, {label}: all chunks embedded", row["dense"], "s"))
    return figures


def tui(d: dict[str, Any]) -> list[Figure]:
    figures = []
    for key, label in (("first_frame_headless_s", "headless"), ("first_frame_tmux_s", "`kwaak -s` in tmux")):
        if key in d:
            median = statistics.median(d[key])
            figures.append(Figure(f"TUI first frame, {label} (median)", median, "s", "≤ 1", median <= 1.0))
    keys = d.get("keystroke_ms") or []
    if keys:
        value = p95(keys)
        busy = f"{d.get('busy_agents', '?')}/10 agents busy, {d.get('events_per_s', 0):.0f} events/s rendered"
        figures.append(Figure("keystroke latency p95, 10 agents streaming", value, "ms", "≤ 50", value <= 50, busy))
    return figures


def startup(d: dict[str, Any]) -> list[Figure]:
    figures = [Figure("`kwaak --help` (cold process)", d.get("kwaak_help_s"), "s", "< 0.5", None)]
    if d.get("kwaak_help_s") is not None:
        figures[0].passed = d["kwaak_help_s"] < 0.5
        figures[0].peer = f"bare python {d['python_s']:.3f} s"
    return figures


def mcp(d: dict[str, Any]) -> list[Figure]:
    return [
        Figure(f"MCP {name}: tool call p50", row["call_p50_ms"], "ms", peer=f"server start {row['start_ms']:.0f} ms")
        for name, row in d["servers"].items()
    ]


def patch(d: dict[str, Any]) -> list[Figure]:
    return [Figure(f"patch_file on {d['lines']} lines: {name}", ms, "ms") for name, ms in d["ms"].items()]


def retrieval(rows: list[dict[str, Any]]) -> list[Figure]:
    baseline = {r["queries"]: r["metrics"] for r in rows if r["system"].startswith("whole-file")}
    return [
        Figure(
            f"retrieval R@10, {r['system']}, {r['queries']} (n={r['n']})",
            r["metrics"]["R@10"],
            "",
            peer=f"whole-file BM25: {baseline[r['queries']]['R@10']:.2f}" if r["queries"] in baseline else "",
        )
        for r in rows
        if not r["system"].startswith("whole-file")
    ]


BENCHES = [
    Bench("agents", "bench_agents.py", (), 420, agents, "parallel ratio and per-step overhead"),
    Bench("executors", "bench_executors.py", ("100",), 420, executors, "local/sandbox/docker vs raw"),
    Bench("index", "bench_index.py", ("--queries", "50"), 600, index, "CPython Lib/: cold, re-index, 100k query"),
    # Not --quick: a p95 over its 30 keystrokes is the second-worst sample, too noisy to judge.
    Bench("tui", "bench_tui.py", (), 420, tui, "first frame, keystrokes with 10 agents"),
    Bench("startup", "bench_startup.py", ("--runs", "5"), 180, startup, "`kwaak --help`"),
    # Issue 26: start-up, step gap and scale against a native CLI.
    Bench(
        "process",
        "bench_process.py",
        ("--runs", "5", "--steps", "20", "--edits", "--edit-latency", "0.5", "--edit-runs", "3", "--peers"),
        420,
        process,
        "`run-agent` as a process against the fake OpenAI server",
    ),
    Bench("prompt", "bench_prompt.py", (), 120, prompt, "fixed prefix tokens"),
    Bench("agents32", "bench_agents.py", ("--agents", "32"), 420, agents_scale, "32 agents in one backend"),
    Bench("tui32", "bench_tui.py", ("--agents", "32", "--keys-only"), 420, tui_keys, "keystrokes with 32 agents"),
    Bench("mcp", "mcp_calls.py", ("100",), 180, mcp, "MCP start and call latency"),
    Bench("patch", "patch_apply.py", (), 180, patch, "patch engine on a 20k-line file"),
    Bench("retrieval", "retrieval_eval/run_eval.py", (), 420, retrieval, "R@k vs whole-file BM25"),
]


RELIABILITY = ("tests/reliability",)
"""The quality bar's faults and secrets bullets are checked by tests, not timed: ``--with-tests`` runs them."""


def run_tests(paths: Sequence[str], logs: Path, timeout: float = 900) -> Outcome:
    """Run pytest on ``paths`` and report passed / total as one figure."""
    import xml.etree.ElementTree as ET

    report = logs / "reliability.xml"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *paths]
    started = time.perf_counter()
    with (logs / "reliability.log").open("w", encoding="utf-8") as handle:
        try:
            code: int | None = subprocess.run(
                argv, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            code = None
    outcome = Outcome("reliability", time.perf_counter() - started, code)
    if not report.is_file():
        outcome.error = "pytest wrote no report; see bench/results/logs/reliability.log"
        return outcome
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    outcome.data = {"tests": total, "failed": bad, "skipped": skipped}
    name = "faults and secrets (tests/reliability): passed / run"
    outcome.figures = [Figure(name, total - bad - skipped, "", f"all {total - skipped}", bad == 0, bench="reliability")]
    return outcome


def run_bench(bench: Bench, logs: Path) -> Outcome:
    """Run one benchmark process and read its JSON."""
    with tempfile.TemporaryDirectory(prefix=f"kwaak-run-all-{bench.name}-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [sys.executable, str(BENCH / bench.script), *bench.args, "--json", str(out)]
        started = time.perf_counter()
        log = logs / f"{bench.name}.log"
        with log.open("w", encoding="utf-8") as handle:
            handle.write("$ " + " ".join(argv) + "\n")
            handle.flush()
            try:
                proc = subprocess.run(argv, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, timeout=bench.timeout)
                code: int | None = proc.returncode
            except subprocess.TimeoutExpired:
                code = None
        outcome = Outcome(bench.name, time.perf_counter() - started, code)
        if not out.is_file():
            why = f"timed out after {bench.timeout:.0f} s" if code is None else f"exit code {code}, no JSON"
            outcome.error = f"{why}; see {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log}"
            return outcome
        outcome.data = json.loads(out.read_text())
    try:
        outcome.figures = bench.extract(outcome.data)
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        outcome.error = f"unexpected JSON ({type(exc).__name__}: {exc})"
    for figure in outcome.figures:
        figure.bench = bench.name
    return outcome


def _value(figure: Figure) -> str:
    if figure.value is None:
        return "-"
    if not figure.unit and float(figure.value).is_integer():
        return str(int(figure.value))  # a count
    digits = 3 if abs(figure.value) < 10 else 1
    return f"{figure.value:.{digits}f} {figure.unit}".strip()


def print_table(outcomes: list[Outcome]) -> None:
    """One table of every figure."""
    rows = [("figure", "value", "target", "verdict", "comparison")]
    for outcome in outcomes:
        if outcome.error:
            rows.append((f"[{outcome.name}] benchmark failed", "-", "", "FAIL", outcome.error))
        for f in outcome.figures:
            rows.append((f.name, _value(f), f.target, f.verdict, f.peer))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
        if number == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * 10)


def markdown_table(outcomes: list[Outcome]) -> str:
    """The same table in markdown (for BENCHMARKS.md)."""
    lines = ["| figure | value | target | verdict | comparison |", "|---|---|---|---|---|"]
    for outcome in outcomes:
        if outcome.error:
            lines.append(f"| [{outcome.name}] benchmark failed | - | | FAIL | {outcome.error} |")
        for f in outcome.figures:
            lines.append(f"| {f.name.strip()} | {_value(f)} | {f.target} | {f.verdict} | {f.peer} |")
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    """Where the numbers come from."""
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [b.name for b in BENCHES]
    parser.add_argument("--only", nargs="+", choices=names, help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", choices=names, default=[], help="do not run these benchmarks")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="where to write the results")
    parser.add_argument("--with-tests", action="store_true", help="also run tests/reliability (faults, secrets)")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown to this file")
    args = parser.parse_args(argv)
    if args.list:
        for b in BENCHES:
            print(f"{b.name:<10} {b.script:<28} {' '.join(b.args):<16} {b.about}")
        return 0
    selected = [b for b in BENCHES if (not args.only or b.name in args.only) and b.name not in args.skip]
    logs = args.out.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    before = machine()
    started = time.perf_counter()
    outcomes = []
    for bench in selected:
        print(f"running {bench.name:<10} ({bench.script} {' '.join(bench.args)})", flush=True)
        outcomes.append(run_bench(bench, logs))
        print(f"  done in {outcomes[-1].seconds:.0f} s" + (f": {outcomes[-1].error}" if outcomes[-1].error else ""))
    if args.with_tests:
        print("running tests/reliability (faults, secrets)", flush=True)
        outcomes.append(run_tests(RELIABILITY, logs))
        print(f"  done in {outcomes[-1].seconds:.0f} s")
    total = time.perf_counter() - started
    print()
    print_table(outcomes)
    failed = [f for o in outcomes for f in o.figures if f.verdict == "FAIL"] + [o for o in outcomes if o.error]
    print(f"\n{len(outcomes)} benchmarks in {total:.0f} s; {len(failed)} failures; results in {args.out}")
    report = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": before,
        "total_seconds": round(total, 1),
        "figures": [asdict(f) | {"verdict": f.verdict} for o in outcomes for f in o.figures],
        "benches": {
            o.name: {"seconds": round(o.seconds, 1), "exit_code": o.exit_code, "error": o.error, "data": o.data}
            for o in outcomes
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.markdown:
        args.markdown.write_text(markdown_table(outcomes), encoding="utf-8")
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
