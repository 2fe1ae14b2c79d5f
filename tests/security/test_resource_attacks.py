"""A7: resource abuse by a hostile model, through the real `kwaak run-agent` / `kwaak batch`
under local, sandbox and docker: a flood of command output, catastrophic regexes, FIFOs and
long tools together with `--timeout`, SIGTERM and SIGINT. kwaak keeps answering, ends when told
to, and its memory stays under a stated ceiling.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.headless import kill_matching, sleep_marker, start_run_agent, tool_started
from tests.scripted import tool
from tests.security.harness import config_for, kwaak, run_agent

FLOOD_MAX_RSS_MIB = 300
"""Peak RSS of kwaak while a command prints 1 GiB (the old code buffered it all: 2.1 GB)."""
REDOS = "(a+)+$"
"""Exponential on a backtracking engine for a long run of `a` followed by a non-match."""


def _calls(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": args} for name, args in calls]}


def test_a7_6_half_a_gibibyte_of_command_output_is_capped_while_streaming(tmp_git_repo: Path, executor: str) -> None:
    """A7.6: `head -c 512MiB` piped to the tool: head and tail kept, the middle dropped as it streams."""
    size = 512 * 1024**2  # the old code kept it all twice (bytes, then text): over 1 GB
    script = [tool("shell_command", cmd=f"head -c {size} /dev/zero | tr '\\0' x; echo; echo THE-END")]
    cfg = config_for(tmp_git_repo, script, executor)
    out = run_agent(tmp_git_repo, cfg, timeout=400)
    assert out.code == 0, out.describe()
    (result,) = out.tool_results("shell_command")
    assert "THE-END" in result["output"]
    assert "omitted" in result["output"]  # the tool keeps head and tail too (40,000 characters)
    assert len(result["output"]) < 100_000
    assert out.max_rss_mib < FLOOD_MAX_RSS_MIB, out.max_rss_mib


def test_a7_7_catastrophic_regex_in_search_file_does_not_freeze_the_team(tmp_git_repo: Path, executor: str) -> None:
    """A7.7: two agents (`kwaak batch`, both hostile) run `search_file` with `(a+)+$`-style regexes
    over file names made to explode a backtracking engine; both finish within seconds."""
    names = " ".join(f"{'a' * n}!" for n in (30, 60, 120, 200))
    script = [
        tool("shell_command", cmd=f'for n in {names}; do touch "$n"; done; echo made'),
        _calls(*(("search_file", {"file_name": rx}) for rx in (REDOS, "(a|aa)+$", "(a*)*b", "(?:a+)+!x"))),
        tool("search_file", file_name="calc"),
    ]
    cfg = config_for(tmp_git_repo, script, executor)
    tasks = tmp_git_repo.parent / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"prompt": f"task {i}", "name": f"t{i}"}) + "\n" for i in range(2)))
    started = time.monotonic()
    out = kwaak(tmp_git_repo, cfg, "-s", "batch", str(tasks), "--parallel", "2", "--output", "jsonl", timeout=300)
    seconds = time.monotonic() - started
    assert out.code == 0, out.describe()
    searches = out.tool_results("search_file")
    assert len(searches) == 10, out.describe()
    assert all(r["ok"] for r in searches), searches
    assert sum("src/calc.py" in r["output"] for r in searches) == 2
    assert seconds < 120, seconds  # Python's re needs hours for one of these; RE2 needs microseconds


@pytest.mark.parametrize("how", ["sigterm", "sigint", "timeout"])
def test_a7_8_fifo_reads_and_a_hung_tool_never_stop_kwaak_from_ending(
    tmp_git_repo: Path, executor: str, how: str
) -> None:
    """A7.8: with FIFO reads refused at once and a 45 s tool running, SIGTERM, SIGINT and `--timeout`
    end kwaak within seconds, and no agent process is left behind."""
    marker = sleep_marker()
    script = [
        tool("shell_command", cmd="mkfifo f1 f2 && echo made"),
        _calls(
            ("read_file_with_line_numbers", {"file_name": "f1"}),
            ("read_file_with_line_numbers", {"file_name": "f2"}),
            ("shell_command", {"cmd": marker}),
        ),
    ]
    cfg = config_for(tmp_git_repo, script, executor)
    extra = ("--timeout", "8") if how == "timeout" else ()
    running = start_run_agent(tmp_git_repo, cfg, "do the task", *extra)
    try:
        running.wait_for_event(tool_started("shell_command"), timeout=120)  # the mkfifo
        running.wait_for_event(
            lambda e: e["type"] == "tool_call_finished" and e.get("name") == "read_file_with_line_numbers",
            timeout=60,
        )
        fifo = next(e for e in running.events if e["type"] == "tool_call_finished" and "FIFO" in e.get("output", ""))
        assert not fifo["ok"]
        sent = time.monotonic()
        if how == "sigterm":
            running.proc.send_signal(signal.SIGTERM)
        elif how == "sigint":
            running.proc.send_signal(signal.SIGINT)
        code, stderr = running.finish(timeout=60)
        ended = time.monotonic() - sent
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
        kill_matching(marker)
    assert code != 0, stderr
    limit = 30 if how == "timeout" else 20
    assert ended < limit, (ended, stderr[-2000:])
