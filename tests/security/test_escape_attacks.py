"""A6: terminal escape injection. Model text, tool output, file names and the user's (possibly
copied-from-an-issue) task carry OSC 0 (window title), OSC 52 (clipboard write), CSI 2J (clear
screen), a C1 CSI (``\\x9b``), BEL and a bidi override; none reaches the terminal raw from
`--output text`, JSONL, `kwaak sessions list/show`, CLI errors or the TUI's widgets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from kwaak import protocol as p
from kwaak.headless.printer import EventPrinter
from kwaak.textsafe import escape_controls, json_safe, one_line
from kwaak.ui.messages import AssistantEntry, SystemEntry, ToolCallEntry, UserEntry
from kwaak.ui.state import ChatState
from tests.scripted import tool
from tests.security.harness import RAW_CONTROL, config_for, kwaak

OSC_TITLE = "\x1b]0;PWNED-TITLE\x07"
OSC_CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07"
CLEAR = "\x1b[2J\x1b[H"
C1_CSI = "\x9b31m"
BIDI = "\u202e"
HOSTILE = f"look{OSC_TITLE}{OSC_CLIPBOARD}{CLEAR}{C1_CSI}{BIDI} here\r\x08\x07done"
SHELL_PRINTF = r"printf 'out\033]0;OWNED\007\033]52;c;ZXZpbA==\007\033[2J\302\233H\r\n'"


def _no_raw_controls(text: str) -> None:
    found = RAW_CONTROL.findall(text) + [c for c in text if c == BIDI]
    assert not found, sorted({repr(c) for c in found})


def test_a6_1_escape_controls_unit() -> None:
    """A6.1: every sequence is shown as a visible escape; newline and tab survive; JSON stays equal."""
    shown = escape_controls(HOSTILE + "\nnext\tline\r\n")
    _no_raw_controls(shown)
    assert "\\x1b]0;PWNED-TITLE\\x07" in shown
    assert "\\x9b31m" in shown and "\\u202e" in shown
    assert shown.endswith("\nnext\tline\n")
    assert "\n" not in one_line("a\nb\tc") and one_line("a\nb\tc") == "a b c"
    line = json_safe(json.dumps({"t": HOSTILE}, ensure_ascii=False))
    _no_raw_controls(line)
    assert json.loads(line) == {"t": HOSTILE}


def test_a6_2_hostile_text_through_run_agent(tmp_git_repo: Path, executor: str) -> None:
    """A6.2: the real CLI under each executor, text and JSONL output, then `kwaak sessions list/show`."""
    script = [
        {"text": HOSTILE, "tool_calls": [{"name": "shell_command", "arguments": {"cmd": SHELL_PRINTF}}]},
        tool("write_file", file_name=f"name{OSC_TITLE}.txt", content=f"data{CLEAR}\n"),
        tool("read_file_with_line_numbers", file_name=f"missing{C1_CSI}{OSC_CLIPBOARD}.txt"),
    ]
    cfg = config_for(tmp_git_repo, script, executor)
    message = f"fix the issue {OSC_TITLE}{CLEAR}"
    for output in ("text", "jsonl"):
        out = kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", message, "--output", output)
        assert out.code == 0, out.describe()
        _no_raw_controls(out.stdout)
        _no_raw_controls(out.stderr)
        if output == "text":
            assert "\\x1b]0;PWNED-TITLE\\x07" in out.stdout  # shown, not sent
            assert "\\x9b" in out.stdout
        else:
            events = [json.loads(line) for line in out.stdout.splitlines()]
            texts = [e.get("text") for e in events if e["type"] == "assistant_message"]
            assert HOSTILE in texts  # JSON keeps the exact text, escaped
            finished = [e for e in events if e["type"] == "tool_call_finished"]
            outputs = [e["output"] for e in finished if e["name"] == "shell_command"]
            assert any("\x1b]0;OWNED" in o for o in outputs)
    listed = kwaak(tmp_git_repo, cfg, "sessions", "list")
    assert listed.code == 0, listed.describe()
    _no_raw_controls(listed.stdout + listed.stderr)
    session_id = listed.stdout.splitlines()[1].split()[0]
    shown = kwaak(tmp_git_repo, cfg, "sessions", "show", session_id)
    assert shown.code == 0, shown.describe()
    _no_raw_controls(shown.stdout + shown.stderr)
    assert "\\x1b]0;PWNED-TITLE\\x07" in shown.stdout


def test_a6_3_cli_errors_escape_model_made_names(tmp_git_repo: Path) -> None:
    """A6.3: an error message quoting a hostile name (here a session id prefix) is escaped."""
    cfg = config_for(tmp_git_repo, [], "local")
    out = kwaak(tmp_git_repo, cfg, "sessions", "show", f"zz{OSC_TITLE}{CLEAR}")
    assert out.code != 0
    _no_raw_controls(out.stdout + out.stderr)


def _rendered(widget: object) -> str:
    console = Console(width=200, record=True, color_system=None, force_terminal=False)
    console.print(widget.render())  # type: ignore[attr-defined]
    return console.export_text()


@pytest.mark.parametrize("stage", ["streaming", "complete"])
def test_a6_4_tui_entries_and_titles_escape_controls(stage: str) -> None:
    """A6.4: the TUI's transcript entries, tool summaries/output and chat titles never carry raw controls."""
    assistant = AssistantEntry("m1")
    assistant.append(HOSTILE)
    if stage == "complete":
        assistant._final = HOSTILE  # what complete() sets, without needing a mounted app
        assistant._parts = []
    tool_entry = ToolCallEntry("c1", name=f"shell{BIDI}", summary=f"running `{OSC_TITLE}`", arguments='{"cmd": "x"}')
    tool_entry.state, tool_entry.output, tool_entry._reactive_expanded = "ok", HOSTILE, True
    widgets = [assistant, UserEntry(HOSTILE), SystemEntry(HOSTILE, level="error", hint=CLEAR), tool_entry]
    for widget in widgets:
        text = _rendered(widget)
        _no_raw_controls(text)
    chat = ChatState(session_id="s1", name="Chat #1")
    chat.observe(p.SessionRenamed(title=HOSTILE))
    chat.observe(p.Activity(text=HOSTILE))
    _no_raw_controls(chat.name + (chat.activity or ""))
    _no_raw_controls(chat.list_line(0, width=80).plain + chat.throbber(0))


def test_a6_5_text_printer_lines() -> None:
    """A6.5: the headless text printer escapes every event line (model text, tool preview, errors)."""
    import io

    stream = io.StringIO()
    printer = EventPrinter(output="text", stream=stream)
    for msg in (
        p.AssistantMessage(message_id="m", text=HOSTILE, tool_calls=()),
        p.ToolCallFinished(call_id="c", name="x", ok=False, preview=HOSTILE),
        p.CommandCompleted(command="chat", ok=False, seconds=1, error=HOSTILE, hint=CLEAR),
    ):
        printer(p.Event(session_id="s", msg=msg))
    _no_raw_controls(stream.getvalue())


def test_a6_7_titles_and_commit_messages_are_escaped_at_the_source() -> None:
    """A6.7: a model-made title or commit message (kept in git, shown raw by `git log`) has no raw control."""
    from kwaak.agent.prompts import clean_title

    title = clean_title(f'"Fix {OSC_TITLE}{CLEAR}{C1_CSI} bug"\nsecond line', max_len=100)
    _no_raw_controls(title)
    assert title.startswith("Fix \\x1b]0;PWNED-TITLE")
    assert clean_title("  'Add tests'  ") == "Add tests"
