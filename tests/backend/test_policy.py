"""Command policy: forbid, prompt (approve / deny in the UI), fail-safe headless."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config.model import PolicyConfig, PolicyRule
from kwaak.llm.testing import ScriptedModel, call
from kwaak.tools.policy import decide

RULES = {
    "rules": [
        {"prefix": "git push --force", "decision": "forbid", "reason": "never rewrite shared history"},
        {"prefix": "rm -rf", "decision": "prompt"},
        {"prefix": "touch approved.txt", "decision": "prompt", "reason": "creates a file"},
    ]
}


@pytest.mark.parametrize(
    ("command", "decision"),
    [
        ("git push --force origin main", "forbid"),
        ("git push origin main", "allow"),
        ("cd sub && git push --force", "forbid"),
        ("echo hi; rm -rf build", "prompt"),
        ("FOO=1 rm -rf /tmp/x", "prompt"),
        ("echo $(rm -rf x)", "prompt"),
        ("rm -rf x && git push --force", "forbid"),  # the strictest wins
        ("rmdir x", "allow"),
        ("echo 'rm -rf' is dangerous", "allow"),
    ],
)
def test_decide(command: str, decision: str) -> None:
    policy = PolicyConfig.model_validate(RULES)
    assert decide(policy, command).decision == decision


def test_no_rules_allows_everything() -> None:
    assert decide(PolicyConfig(rules=()), "git push --force").decision == "allow"
    assert PolicyConfig(rules=(PolicyRule(prefix="x", decision="forbid"),)).rules


def _backend(make_config, repo: Path, *, interactive: bool, headless_prompt: str = "forbid") -> Backend:
    config = make_config(policy={**RULES, "headless_prompt": headless_prompt})
    model = ScriptedModel([call("shell_command", cmd="touch approved.txt"), call("stop")])
    return Backend(config, repo, models=Models(indexing=ScriptedModel(), query=model), interactive=interactive)


async def _outputs(backend: Backend, sid: str) -> list[p.ToolCallFinished]:
    events: list[p.ToolCallFinished] = []
    backend.add_listener(lambda e: events.append(e.msg) if isinstance(e.msg, p.ToolCallFinished) else None)
    return events


async def test_prompt_is_approved_in_the_ui(make_config, tmp_git_repo: Path) -> None:
    async with _backend(make_config, tmp_git_repo, interactive=True) as backend:
        requests: list[p.ApprovalRequested] = []
        backend.add_listener(lambda e: requests.append(e.msg) if isinstance(e.msg, p.ApprovalRequested) else None)
        finished = await _outputs(backend, "s")
        chat = asyncio.create_task(backend.run_op("s", p.Chat(message="make the file")))
        for _ in range(200):
            if requests:
                break
            await asyncio.sleep(0.05)
        assert requests[0].command == "touch approved.txt" and requests[0].reason == "creates a file"
        assert backend._sessions["s"].status == "awaiting_approval"
        assert (await backend.run_op("s", p.ApproveCommand(call_id=requests[0].call_id, approved=True))).ok
        assert (await chat).ok
        assert finished[0].ok
        assert (backend._sessions["s"].workspace.path / "approved.txt").exists()


async def test_prompt_denied_in_the_ui(make_config, tmp_git_repo: Path) -> None:
    async with _backend(make_config, tmp_git_repo, interactive=True) as backend:
        finished = await _outputs(backend, "s")
        chat = asyncio.create_task(backend.run_op("s", p.Chat(message="make the file")))
        for _ in range(200):
            if backend._sessions.get("s") and backend._sessions["s"].approvals:
                break
            await asyncio.sleep(0.05)
        assert (await backend.run_op("s", p.ApproveCommand(call_id="", approved=False))).ok  # the oldest pending
        assert (await chat).ok
        assert not finished[0].ok and "did not approve" in finished[0].output
        assert not (backend._sessions["s"].workspace.path / "approved.txt").exists()


async def test_headless_fails_safe_or_allows_when_configured(make_config, tmp_git_repo: Path) -> None:
    async with _backend(make_config, tmp_git_repo, interactive=False) as backend:
        finished = await _outputs(backend, "s")
        assert (await backend.run_op("s", p.Chat(message="make the file"))).ok
        assert not finished[0].ok and "nobody can approve it headless" in finished[0].output
    async with _backend(make_config, tmp_git_repo, interactive=False, headless_prompt="allow") as backend:
        finished = await _outputs(backend, "t")
        assert (await backend.run_op("t", p.Chat(message="make the file"))).ok
        assert finished[0].ok


async def test_forbidden_command_is_refused(make_config, tmp_git_repo: Path) -> None:
    config = make_config(policy=RULES)
    model = ScriptedModel([call("git", command="push --force origin main"), call("stop")])
    async with Backend(config, tmp_git_repo, models=Models(indexing=ScriptedModel(), query=model)) as backend:
        finished = await _outputs(backend, "s")
        assert (await backend.run_op("s", p.Chat(message="push"))).ok
        assert not finished[0].ok
        assert "forbids it (never rewrite shared history)" in finished[0].output
