"""Generated commit messages never hold up a step: commit at once, reword when the message arrives."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from kwaak import protocol as p
from kwaak.git.commit import DEFAULT_MESSAGE
from kwaak.llm.base import ModelResponse, TextDeltaCallback, ToolSpec
from kwaak.llm.testing import ScriptedModel, call
from kwaak.messages import Message
from tests.conftest import git


@dataclass(kw_only=True)
class SlowMessages(ScriptedModel):
    """An indexing model whose commit messages take ``message_delay`` seconds (other prompts are quick)."""

    message_delay: float = 1.0

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        if "commit message" in (messages[-1].content or ""):
            await asyncio.sleep(self.message_delay)
        return await super().complete(messages, tools=tools, on_text_delta=on_text_delta)


def _message_for(prompt: str) -> str:
    if "commit message" not in prompt:
        return "Edit the notes"
    names = re.findall(r"^\+\+\+ b/(\S+)", prompt, flags=re.MULTILINE)
    return f"feat: add {' '.join(names)}"


@dataclass(kw_only=True)
class Timed(ScriptedModel):
    """The query model, recording when each request arrives."""

    times: list[float] = field(default_factory=list)

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        self.times.append(time.monotonic())
        return await super().complete(messages, tools=tools, on_text_delta=on_text_delta)


def _edits(count: int) -> Timed:
    steps = [call("write_file", file_name=f"note{i}.txt", content=f"note {i}\n") for i in range(count)]
    return Timed([*steps, call("stop")], delay=0.05)


async def test_editing_steps_do_not_wait_for_the_message_and_the_branch_ends_reworded(make_backend) -> None:
    query = _edits(3)
    indexing = SlowMessages(prompt_reply=_message_for, message_delay=1.0)
    backend, rec = make_backend(query, indexing=indexing, git={"generate_commit_message": True})

    assert (await backend.run_op("s", p.Chat(message="write notes"))).ok

    gaps = [b - a for a, b in zip(query.times, query.times[1:], strict=False)]
    assert len(gaps) == 3
    # Each editing step commits; with the message on the critical path each gap would be > 1 s.
    assert max(gaps) < 0.8, gaps
    session = backend._sessions["s"]
    assert session.workspace is not None
    branch = session.workspace.branch
    subjects = git(session.workspace.repo_root, "log", "--format=%s", f"main..{branch}").splitlines()
    assert subjects == ["feat: add note2.txt", "feat: add note1.txt", "feat: add note0.txt"]
    tree = git(session.workspace.repo_root, "ls-tree", "--name-only", branch)
    assert {"note0.txt", "note1.txt", "note2.txt"} <= set(tree.splitlines())
    committed = rec.of(p.Committed, "s")
    provisional = [c.sha for c in committed if c.replaces is None and c.message == DEFAULT_MESSAGE]
    reworded = {c.replaces: c.message for c in committed if c.replaces is not None}
    assert len(provisional) == 3 and set(reworded) == set(provisional)
    assert git(session.workspace.repo_root, "rev-parse", branch) == committed[-1].sha


async def test_stopping_before_the_message_arrives_keeps_the_provisional_commit(make_backend) -> None:
    query = _edits(1)
    indexing = SlowMessages(prompt_reply=_message_for, message_delay=60.0)
    backend, rec = make_backend(query, indexing=indexing, git={"generate_commit_message": True})

    committed = asyncio.Event()
    backend.add_listener(lambda event: committed.set() if isinstance(event.msg, p.Committed) else None)
    turn = asyncio.create_task(backend.run_op("s", p.Chat(message="write a note")))
    await asyncio.wait_for(committed.wait(), timeout=30)  # the step committed without waiting for the message
    session = backend._sessions["s"]
    assert session.workspace is not None
    repo, branch = session.workspace.repo_root, session.workspace.branch
    await backend.aclose()
    turn.cancel()

    assert git(repo, "log", "-1", "--format=%s", branch) == DEFAULT_MESSAGE
    assert git(repo, "show", f"{branch}:note0.txt") == "note 0"


@dataclass(kw_only=True)
class SlowNames(ScriptedModel):
    """An indexing model whose chat titles and branch names take ``naming_delay`` seconds."""

    naming_delay: float = 1.0

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        if "Only respond with the" in (messages[-1].content or ""):
            await asyncio.sleep(self.naming_delay)
        return await super().complete(messages, tools=tools, on_text_delta=on_text_delta)


def _names(prompt: str) -> str:
    return "notes-branch" if "git-branch-name" in prompt else "Write the notes"


async def test_naming_the_chat_and_branch_does_not_delay_the_first_request(make_backend) -> None:
    query = _edits(2)
    indexing = SlowNames(prompt_reply=_names, naming_delay=1.5)
    backend, rec = make_backend(query, indexing=indexing, git={"generate_commit_message": False})

    started = time.monotonic()
    assert (await backend.run_op("s", p.Chat(message="write notes"))).ok

    assert query.times[0] - started < 1.2, "the first request waits for the 1.5 s naming prompts"
    session = backend._sessions["s"]
    assert session.workspace is not None and session.ctx is not None and session.ctx.workspace is not None
    branch = session.workspace.branch
    assert branch.startswith("kwaak/notes-branch") and session.ctx.workspace.branch == branch
    assert session.title == "Write the notes"
    assert [e.branch for e in rec.of(p.BranchRenamed, "s")] == [branch]
    repo = session.workspace.repo_root
    assert git(repo, "log", "--format=%s", f"main..{branch}").count("\n") == 1, "both edits are on the named branch"
    assert git(repo, "branch", "--list", "kwaak/agent-*") == "", "no provisional branch is left behind"
    assert git(session.workspace.path, "symbolic-ref", "--short", "HEAD") == branch
    assert session.registry is not None
    assert "explain_code" not in [tool.name for tool in session.registry], "no index: the tool could only fail"
