"""`bench/run_all.py`: its command line, and how it judges a benchmark's JSON (the suite itself is not run)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
RUN_ALL = ROOT / "bench" / "run_all.py"


def load_run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_all", RUN_ALL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_help_and_list() -> None:
    help_run = subprocess.run([sys.executable, str(RUN_ALL), "--help"], capture_output=True, text=True, timeout=60)
    assert help_run.returncode == 0, help_run.stderr
    assert "--only" in help_run.stdout and "--skip" in help_run.stdout
    listing = subprocess.run([sys.executable, str(RUN_ALL), "--list"], capture_output=True, text=True, timeout=60)
    names = [line.split()[0] for line in listing.stdout.splitlines()]
    assert names == [
        "agents",
        "executors",
        "index",
        "tui",
        "startup",
        "process",
        "prompt",
        "agents32",
        "tui32",
        "mcp",
        "patch",
        "retrieval",
    ]
    for line in listing.stdout.splitlines():
        assert (ROOT / "bench" / line.split()[1]).is_file(), line


def test_every_bench_script_accepts_json() -> None:
    run_all = load_run_all()
    for bench in run_all.BENCHES:
        assert "--json" in (ROOT / "bench" / bench.script).read_text(encoding="utf-8"), bench.script


def test_figures_are_judged_against_their_targets() -> None:
    run_all = load_run_all()
    data = {
        "agents": 8,
        "steps": 20,
        "one_s": 10.4,
        "many_s": 14.0,
        "parallel_ratio": 1.35,
        "step_overhead_ms": 6.5,
        "step_overhead_ms_commits": 40.0,
    }
    figures = run_all.agents(data)
    assert [(f.verdict, f.value) for f in figures] == [
        ("FAIL", 1.35),
        ("info", 10.4),
        ("PASS", 6.5),
        ("info", 40.0),
    ]
    tui = run_all.tui({"first_frame_headless_s": [0.4, 0.5, 2.0], "keystroke_ms": [5.0] * 19 + [80.0]})
    assert [(f.verdict, f.value) for f in tui] == [("PASS", 0.5), ("FAIL", 80.0)]
    executors = run_all.executors(
        {
            "executors": {
                "docker": {"ours_ms": 60.0, "raw_ms": 55.0, "note": ""},
                "sandbox": {"ours_ms": None, "raw_ms": None, "note": "skipped: no bwrap"},
            }
        }
    )
    assert [(f.name, f.verdict) for f in executors] == [
        ("docker exec per command: ours / raw", "PASS"),
        ("sandbox executor per command", "n/a"),
    ]


def test_issue_26_figures_are_judged_against_their_targets() -> None:
    run_all = load_run_all()
    process = run_all.process(
        {
            "steps": 20,
            "launch_to_agent_request_s": 0.31,
            "launch_to_first_request_s": 0.2,
            "step_gap_ms": 12.0,
            "peak_rss_mb": 50.0,
            "edit_latency_s": 0.5,
            "edit_step_ratio": 1.02,
            "peers": {"mini-swe-agent": {"launch_to_agent_request_s": 3.0, "step_gap_ms": 16.0}},
        }
    )
    assert [(f.verdict, f.value) for f in process] == [
        ("FAIL", 0.31),
        ("info", 0.2),
        ("PASS", 12.0),
        ("info", 50.0),
        ("PASS", 1.02),
        ("info", 3.0),
        ("info", 16.0),
    ]
    scale = run_all.agents_scale({"agents": 32, "steps": 20, "parallel_ratio": 1.3, "rss_per_extra_agent_mb": 0.2})
    assert [f.verdict for f in scale] == ["FAIL", "PASS"]
    keys = run_all.tui_keys({"agents": 32, "keystroke_ms": [10.0] * 39 + [70.0], "busy_agents": 32})
    assert [(f.verdict, f.value) for f in keys] == [("PASS", 10.0)]
    row = {"system_tokens": 800, "tools_tokens": 1400, "tools": 11, "total_tokens": 2200, "stable": True}
    prompt = run_all.prompt({"tokenizer": "o200k_base", "skip_indexing": row})
    assert [(f.verdict, f.value) for f in prompt] == [("info", 2200)]


def test_a_crashing_benchmark_is_reported_as_failed(tmp_path: Path) -> None:
    run_all = load_run_all()
    script = tmp_path / "crash.py"
    script.write_text("import sys\nprint('boom')\nsys.exit(3)\n")
    bench = run_all.Bench("crash", str(script), (), 30, run_all.patch)
    outcome = run_all.run_bench(bench, tmp_path)
    assert outcome.exit_code == 3 and outcome.figures == []
    assert "exit code 3, no JSON" in outcome.error
    assert "boom" in (tmp_path / "crash.log").read_text()
    assert "| [crash] benchmark failed | - | | FAIL | exit code 3, no JSON" in run_all.markdown_table([outcome])
    good = tmp_path / "good.py"
    good.write_text(
        "import json, sys\n"
        "path = sys.argv[sys.argv.index('--json') + 1]\n"
        f"json.dump({json.dumps({'lines': 10, 'ms': {'case': 1.5}})}, open(path, 'w'))\n"
    )
    outcome = run_all.run_bench(run_all.Bench("good", str(good), (), 30, run_all.patch), tmp_path)
    assert outcome.error is None
    assert [(f.name, f.value, f.bench) for f in outcome.figures] == [("patch_file on 10 lines: case", 1.5, "good")]


def test_with_tests_reports_passed_over_run(tmp_path: Path) -> None:
    run_all = load_run_all()
    tests = tmp_path / "test_sample.py"
    tests.write_text("def test_ok():\n    pass\n\n\ndef test_broken():\n    assert 1 == 2\n")
    outcome = run_all.run_tests([str(tests)], tmp_path, timeout=120)
    [figure] = outcome.figures
    assert (figure.value, figure.target, figure.verdict) == (1, "all 2", "FAIL")
    assert outcome.data == {"tests": 2, "failed": 1, "skipped": 0}
