"""Hook problems reach the chat once, with the command and its output tail; /exec reports its exit code."""

from __future__ import annotations

from kwaak import protocol as p
from kwaak.llm.testing import ScriptedModel, Step, call

WRITES = [
    call("write_file", file_name="a.txt", content="one\n"),
    call("write_file", file_name="b.txt", content="two\n"),
    Step(text="done", tool_calls=(("stop", {}),)),
]


async def test_failing_lint_and_fix_is_reported_once_with_its_output(make_backend) -> None:
    lint = "echo 'line 1 of noise'; echo 'ruff: command not found' >&2; exit 127"
    backend, rec = make_backend(ScriptedModel(WRITES), commands={"lint_and_fix": lint})
    done = await backend.run_op("s1", p.Chat(message="write two files"))
    assert done.ok, done
    warnings = [m for m in rec.of(p.SystemMessage, "s1") if "lint_and_fix" in m.text]
    assert len(warnings) == 1  # two completions changed files; the same failure is shown once
    (warning,) = warnings
    assert warning.level == "warning"
    assert warning.text.startswith(f"lint_and_fix `{lint}` exited with code 127:")
    assert "ruff: command not found" in warning.text
    assert warning.hint is not None and "commands.lint_and_fix" in warning.hint
    assert len([c for c in rec.of(p.Committed, "s1") if c.replaces is None]) == 2  # the work is still committed


async def test_working_lint_and_fix_is_silent(make_backend) -> None:
    backend, rec = make_backend(ScriptedModel(WRITES), commands={"lint_and_fix": "true"})
    assert (await backend.run_op("s1", p.Chat(message="write two files"))).ok
    assert not [m for m in rec.of(p.SystemMessage, "s1") if "lint_and_fix" in m.text]


async def test_exec_fails_with_the_real_exit_code(make_backend) -> None:
    backend, rec = make_backend(ScriptedModel([Step(text="hi", tool_calls=(("stop", {}),))]))
    assert (await backend.run_op("s1", p.Chat(message="hello"))).ok
    failed = await backend.run_op("s1", p.Exec(cmd="echo out; exit 5"))
    assert (failed.ok, failed.error, failed.error_kind) == (
        False,
        "`echo out; exit 5` exited with code 5",
        "command_failed",
    )
    assert rec.of(p.SystemMessage, "s1")[-1].text == "out"
    assert (await backend.run_op("s1", p.Exec(cmd="echo fine"))).ok


async def test_exec_is_stopped_by_stop_agent(make_backend) -> None:
    import asyncio
    import time

    backend, _ = make_backend(ScriptedModel([Step(text="hi", tool_calls=(("stop", {}),))]))
    assert (await backend.run_op("s1", p.Chat(message="hello"))).ok
    running = asyncio.create_task(backend.run_op("s1", p.Exec(cmd="sleep 30")))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    assert (await backend.run_op("s1", p.StopAgent())).ok
    stopped = await asyncio.wait_for(running, 10)
    assert (stopped.ok, stopped.error_kind) == (False, "stopped")
    assert time.monotonic() - started < 5
