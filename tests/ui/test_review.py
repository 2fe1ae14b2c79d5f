"""The review screen: Pilot tests of keys, comments and landing, an SVG snapshot, and /review end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from kwaak import protocol as p
from kwaak.llm.testing import ScriptedModel, call
from kwaak.ui.review import ReviewScreen, highlight_hunk, split_diff
from tests.conftest import git
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, wait_for

DIFF = """\
diff --git a/src/calc.py b/src/calc.py
index 1111111..2222222 100644
--- a/src/calc.py
+++ b/src/calc.py
@@ -1,3 +1,4 @@
 def add(a, b):
-    return a + b
+    \"\"\"Add two numbers.\"\"\"
+    return a + b
 
@@ -10,2 +11,5 @@ def mul(a, b):
     return a * b
+
+def sub(a, b):
+    return a - b
diff --git a/docs/usage.md b/docs/usage.md
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/docs/usage.md
@@ -0,0 +1,2 @@
+# Usage
+Call `add(1, 2)`.
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..4444444
Binary files /dev/null and b/logo.png differ
"""

REVIEW = p.ReviewShown(
    branch="kwaak/calc-docs-00000001",
    base="main",
    ahead=2,
    behind=1,
    files=(
        p.ReviewFile(path="src/calc.py", added=5, removed=1),
        p.ReviewFile(path="docs/usage.md", added=2, removed=0),
        p.ReviewFile(path="logo.png", added=-1, removed=-1),
    ),
    commits=(
        p.ReviewCommit(sha="b" * 40, subject="docs: usage", body="Explain add.", timestamp=1_700_000_600),
        p.ReviewCommit(sha="a" * 40, subject="feat: sub and a docstring", timestamp=1_700_000_000),
    ),
    diff=DIFF,
)


class Host(App[None]):
    """A bare app that opens the review screen and records the ops it submits."""

    def __init__(self, review: p.ReviewShown = REVIEW) -> None:
        super().__init__()
        self.review = review
        self.ops: list[p.Op] = []

    def compose(self) -> ComposeResult:
        yield Static("chat")

    def on_mount(self) -> None:
        self.push_screen(ReviewScreen(self.review, submit=self.ops.append))


def _screen(pilot: Pilot[Any]) -> ReviewScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


def test_split_diff_and_highlight() -> None:
    files = split_diff(DIFF)
    assert list(files) == ["src/calc.py", "docs/usage.md", "logo.png"]
    assert [h.new_start for h in files["src/calc.py"]] == [1, 11]
    assert files["logo.png"] == []
    text = highlight_hunk(files["src/calc.py"][1])
    assert text.plain.splitlines()[0].startswith("@@ -10,2 +11,5 @@")
    assert "+def sub(a, b):" in text.plain
    # Syntax colouring: the keyword `def` gets its own style, beyond the line's green background.
    styles = {str(span.style) for span in text.spans}
    assert any("on #12351c" in s for s in styles) and len(styles) > 3


async def test_keys_move_between_files_and_hunks() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        screen = _screen(pilot)
        assert screen.current_path == "src/calc.py" and len(screen.query(".review-hunk")) == 2
        await pilot.press("j")
        assert screen.hunk_index == 1
        assert list(screen.query(".review-hunk"))[1].has_class("-current")
        await pilot.press("j")  # past the last hunk: the next file
        assert screen.current_path == "docs/usage.md" and screen.hunk_index == 0
        assert screen.query_one("#review-files", OptionList).highlighted == 1
        await pilot.press("n")
        assert screen.current_path == "logo.png" and not screen.query(".review-hunk")
        await pilot.press("n")  # wraps
        assert screen.current_path == "src/calc.py"
        await pilot.press("p")
        assert screen.current_path == "logo.png"
        await pilot.press("k")  # back into the previous file's last hunk
        assert screen.current_path == "docs/usage.md" and screen.hunk_index == 0
        await pilot.press("right_square_bracket")
        assert screen.current_path == "logo.png"


async def test_comment_on_a_hunk_is_sent_to_the_agent() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        screen = _screen(pilot)
        await pilot.press("j", "c")
        box = screen.query_one("#review-comment", Input)
        assert box.display and box.has_focus
        await pilot.press(*"use a loop", "enter")
        await pilot.pause()
        assert not box.display
        (op,) = app.ops
        assert isinstance(op, p.Chat)
        assert "`src/calc.py` (around line 11" in op.message
        assert "+def sub(a, b):" in op.message and "use a loop" in op.message
        # Escape closes the box first, then the screen; letters typed in the box are not key actions.
        await pilot.press("c", "n", "escape")
        assert screen.current_path == "src/calc.py" and not box.display
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)
        assert len(app.ops) == 1


async def test_land_keys_submit_and_close() -> None:
    for key, op in (("s", p.Land(mode="squash", base="main")), ("m", p.Land(mode="merge", base="main"))):
        app = Host()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(key)
            await pilot.pause()
            assert app.ops == [op]
            assert not isinstance(app.screen, ReviewScreen)
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        assert app.ops == [p.Undo()]
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("J", "J", "K", "J")  # the older commit (the list is newest first)
        assert _screen(pilot).current_path == "src/calc.py", "the commit list does not move the file list"
        await pilot.press("U")
        assert app.ops == [p.Undo(commit="a" * 40 + "^")]


def test_review_screen_snapshot(snap_compare: Any) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.press("j")
        await pilot.pause(0.2)

    assert snap_compare(Host(), terminal_size=SIZE, run_before=steps)


async def test_review_command_opens_the_screen_and_squash_lands(make_app: AppFactory, tmp_git_repo: Path) -> None:
    model = ScriptedModel([call("write_file", file_name="notes.md", content="# Notes\n"), call("stop")])
    app, _ = make_app(model, git={"generate_commit_message": False})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.bridge.connected)
        await send(pilot, "write notes")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        await send(pilot, "/review")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        screen = _screen(pilot)
        assert [f.path for f in screen.review.files] == ["notes.md"]
        assert screen.review.commits and "+# Notes" in screen.review.diff
        assert app.check_action("next_chat", ()) is False and app.check_action("send", ()) is False
        await pilot.press("s")
        await wait_for(pilot, lambda: git(tmp_git_repo, "log", "-1", "--format=%s", "main") != "Initial commit")
        await wait_for(pilot, lambda: not app.current_chat.busy)
        assert app.current_chat.landed and app.current_chat.icon(0).plain == "⤴"
    assert git(tmp_git_repo, "show", "main:notes.md") == "# Notes"
    assert (tmp_git_repo / "notes.md").read_text() == "# Notes\n"


async def test_fork_runs_the_task_on_more_agents_and_compare_shows_them(make_app: AppFactory) -> None:
    from kwaak.llm.testing import Step
    from kwaak.messages import Message, ToolResult, ToolSpec
    from kwaak.ui.messages import SystemEntry

    def policy(messages: list[Message], tools: list[ToolSpec]) -> Step:
        if isinstance(messages[-1], ToolResult):
            return call("stop")
        return call("write_file", file_name="result.txt", content="ok\n")

    app, _ = make_app(ScriptedModel(policy), commands={"test": "test -f result.txt"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.bridge.connected)
        await send(pilot, "/fork 2")
        assert "no task to fork" in [e for e in app.current_log.entries if isinstance(e, SystemEntry)][-1].text
        await send(pilot, "write the result")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        await send(pilot, "/fork 2")
        await wait_for(pilot, lambda: len(app.chats) == 3 and all(c.status == "done" and not c.busy for c in app.chats))
        assert app.current == 0 and app.chats[1].task == "write the result"
        await send(pilot, "/compare")

        def table() -> str | None:
            texts = [e.text for e in app.current_log.entries if isinstance(e, SystemEntry)]
            return next((t for t in texts if t.startswith("Best of 3")), None)

        await wait_for(pilot, table, timeout=60)
        text = table()
    assert text is not None
    rows = text.splitlines()[2:]
    assert len(rows) == 3 and all(" passed " in r and "+1/-0" in r for r in rows)


async def test_huge_file_draws_a_bounded_number_of_hunks() -> None:
    from dataclasses import replace

    from kwaak.ui.review import MAX_FILE_HUNKS

    hunks = "".join(f"@@ -{i * 10},1 +{i * 10},1 @@\n-x{i}\n+y{i}\n" for i in range(1, 301))
    big = replace(
        REVIEW,
        files=(p.ReviewFile(path="big.txt", added=300, removed=300),),
        diff=f"diff --git a/big.txt b/big.txt\n--- a/big.txt\n+++ b/big.txt\n{hunks}",
    )

    app = Host(big)
    async with app.run_test(size=SIZE) as pilot:
        screen = _screen(pilot)
        await pilot.pause()
        assert len(screen.query(".review-hunk")) == MAX_FILE_HUNKS
        assert "100 more hunks" in str(list(screen.query(".review-note"))[-1].render())
