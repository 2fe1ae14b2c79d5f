"""A shortened load run (bench/bench_load.py has the full 16 x 200): no leaks across rounds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_load.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("persist", [True, False], ids=["persisted", "in-memory"])
async def test_8_agents_x_30_steps_leak_nothing(tmp_path: Path, persist: bool) -> None:
    bench = _bench()
    repo = bench.make_repo(tmp_path)
    report = await bench.run_load(repo, tmp_path / "cache", agents=8, steps=30, rounds=4, persist=persist)
    for sample in report.samples:
        assert sample.sessions_ok == 8, sample
        assert sample.model_requests == 8 * 30, sample
    assert report.rss_growth < 0.20, report.samples
    assert report.fd_growth <= 0, report.samples
    assert report.task_growth <= 0, report.samples


def test_bench_cli_prints_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code = _bench().main(["--agents", "2", "--steps", "5", "--rounds", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "round 1:" in out and "rss growth after warm-up" in out and "PASS" in out
