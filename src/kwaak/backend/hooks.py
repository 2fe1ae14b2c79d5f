"""The coding agent's hooks: test-output summarizer, lint + commit + push, conversation summary."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from kwaak import protocol as p
from kwaak import telemetry
from kwaak.agent.loop import AgentState
from kwaak.agent.prompts import clean_title, render
from kwaak.agent.summarize import SUMMARIZED_TOOLS, summarize_conversation, summarize_tool_output
from kwaak.config import Config
from kwaak.errors import KwaakError
from kwaak.executors.base import Executor
from kwaak.git.reword import CommitMessages
from kwaak.git.workspace import AgentWorkspace
from kwaak.llm.base import Model
from kwaak.messages import ToolCall, ToolResult, Usage
from kwaak.tools.base import ToolRegistry

log = logging.getLogger(__name__)
MAX_DIFF_CHARS = 30_000
TAIL_LINES = 12
"""Lines of a failing hook command's output shown in the chat."""


def output_tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``output`` (what explains most failures)."""
    kept = output.rstrip().splitlines()[-lines:]
    return "\n".join(kept)


@dataclass(kw_only=True)
class CodingHooks:
    """:class:`kwaak.agent.loop.AgentHooks` for the coding agent."""

    config: Config
    workspace: AgentWorkspace
    executor: Executor
    registry: ToolRegistry
    indexing_model: Model
    query_model: Model
    emit: Callable[[p.EventMsg], None]
    on_usage: Callable[[Usage], None]
    on_step: Callable[[], None] = lambda: None
    """Called after each completion (the session persists its history)."""
    commits_enabled: bool = True
    messages: CommitMessages | None = None
    """Generate commit messages in the background and reword (the commit never waits for the model)."""
    reported: set[str] = field(default_factory=set)
    """Hook problems already shown to the user (each is shown once per session, not per step)."""

    def report(self, text: str, *, hint: str | None = None, level: Literal["warning", "error"] = "warning") -> None:
        """Show a hook's problem in the chat, unless the same one was shown before."""
        if text in self.reported:
            log.info("hook problem (already shown): %s", text)
            return
        self.reported.add(text)
        log.warning("hook problem: %s", text)
        self.emit(p.SystemMessage(text=text, level=level, hint=hint))

    async def after_tool(self, call: ToolCall, result: ToolResult) -> ToolResult:
        """Reformat successful test/coverage output with the indexing model."""
        tool = self.registry.get(call.name)
        if tool is None or call.name not in SUMMARIZED_TOOLS or result.is_error:
            return result
        try:
            with telemetry.span("summarize.tool_output", tool=call.name):
                return await summarize_tool_output(
                    self.indexing_model,
                    tool=tool,
                    call=call,
                    result=result,
                    diff=await self.diff(),
                    tools=list(self.registry),
                )
        except KwaakError as exc:
            log.warning("tool output summarizer failed: %s", exc)
            return result

    async def after_completion(self, state: AgentState) -> None:
        """Lint, commit and push, then summarize the conversation every N completions."""
        self.on_step()
        if self.commits_enabled:
            await self.commit()
        await self.maybe_summarize(state)
        self.on_step()

    async def commit(self) -> None:
        """Run lint_and_fix and commit the worktree's changes (see :mod:`kwaak.git.commit`)."""
        from kwaak.git.commit import commit_changes

        try:
            result = await commit_changes(
                self.workspace.path,
                self.config,
                run_lint=self._lint,
                message_for=self._commit_message,
                repo_root=self.workspace.repo_root,
                later=(self.messages, self._reworded) if self.messages is not None else None,
            )
        except KwaakError as exc:
            self.report(f"Could not commit the agent's changes: {exc.message}", hint=exc.hint)
            return
        if result is None:
            return
        self.emit(p.Committed(sha=result.sha, message=result.message, pushed=result.pushed))
        self._report_push(result.push_error)

    async def _reworded(self, provisional: str, sha: str | None, message: str | None, last: bool) -> None:
        """A generated message arrived: report the reworded commit and push once the branch is final."""
        from kwaak.git.commit import push_if_enabled
        from kwaak.git.trusted import agent_git

        pushed, error = False, None
        if last:
            layout = agent_git(self.workspace.path, self.workspace.repo_root)
            pushed, error = await push_if_enabled(layout, self.config)
        if sha is not None and message is not None:
            self.emit(p.Committed(sha=sha, message=message, pushed=pushed, replaces=provisional))
        self._report_push(error)

    def _report_push(self, error: str | None) -> None:
        if error:
            self.report(
                f"Pushing the agent's branch failed: {error}",
                hint="check `git.auto_push_remote`, the remote and the GitHub token; commits stay local",
            )

    async def _lint(self) -> None:
        command = self.config.commands.lint_and_fix
        if not command:
            return
        self.emit(p.Activity(text="running lint and fix"))
        hint = "fix or remove `commands.lint_and_fix` in kwaak.toml; the agent's changes are committed without it"
        try:
            result = await self.executor.exec(command, timeout=self.config.limits.tool_timeout_sec)
        except (OSError, KwaakError) as exc:
            self.report(f"lint_and_fix `{command}` could not run: {exc}", hint=hint)
            return
        if result.ok:
            return
        limit = self.config.limits.tool_timeout_sec
        why = f"was stopped after {limit:g} seconds" if result.timed_out else f"exited with code {result.exit_code}"
        tail = output_tail(result.output)
        self.report(f"lint_and_fix `{command}` {why}" + (f":\n{tail}" if tail else " (no output)"), hint=hint)

    async def _commit_message(self, diff: str) -> str:
        response = await self.indexing_model.complete_prompt(render("commit", diff=diff[:MAX_DIFF_CHARS]))
        self.on_usage(response.usage)
        return clean_title(response.message.content or "", max_len=100) or "chore: Committed changes for completion"

    async def maybe_summarize(self, state: AgentState) -> None:
        """kwaak's counter: summarize when the count before this completion reached N (when configured)."""
        every = self.config.num_completions_for_summary
        if every is None:
            return
        due = state.completions_since_summary >= every
        state.completions_since_summary += 1
        if not due:
            return
        state.completions_since_summary = 0
        self.emit(p.Activity(text="summarizing the conversation"))
        with telemetry.span("summarize.conversation", messages=len(state.history)):
            messages, usage = await summarize_conversation(
                self.query_model,
                history=state.history,
                goal=state.goal or "",
                diff=await self.diff(),
                tools=list(self.registry),
            )
        self.on_usage(usage)
        state.history.extend(messages)

    async def diff(self) -> str:
        """The agent's changes since its start ref (may be empty)."""
        from kwaak.git.diffs import agent_diff

        try:
            text = await agent_diff(self.workspace.path, self.workspace.start_ref, repo_root=self.workspace.repo_root)
        except KwaakError as exc:
            log.warning("diff failed: %s", exc)
            return ""
        return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "\n[diff truncated]"
