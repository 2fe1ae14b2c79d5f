"""The plan-and-act agent (``agent = "PlanAct"``): a planner that researches, then delegates.

The planner gets read-only tools plus ``delegate_coding_agent(task)``. Delegating makes the coding
agent the session's active agent, runs it on the task to completion inside the tool call (on the
same worktree and branch, with commits), and stops the planner. Later messages go to the coding
agent. Unlike kwaak, ``patch_file`` and ``reset_file`` are not given to the planner: it cannot edit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kwaak.agent.loop import AgentState
from kwaak.agent.prompts import planner_prompt, read_instructions
from kwaak.config import Config
from kwaak.messages import Message, SystemMessage, UserMessage
from kwaak.tools.base import Tool, ToolContext, ToolError, ToolOutput, ToolRegistry, string_params

PLANNER_EXCLUDED = frozenset(
    {"write_file", "shell_command", "replace_lines", "add_lines", "patch_file", "reset_file", "git"}
)
DELEGATE = "delegate_coding_agent"
DELEGATE_DESCRIPTION = (
    "If you have a coding task, delegate to the coding agent. Provide a thorough description of the task and "
    "relevant details."
)

RunCoding = Callable[[str], Awaitable[str]]


def delegate_tool(run_coding: RunCoding) -> Tool:
    """``delegate_coding_agent(task)``: hand the task to the coding agent, then stop the planner."""

    async def handler(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
        task = str(args.get("task") or "").strip()
        if not task:
            msg = "Provide the task for the coding agent in `task`"
            raise ToolError(msg)
        outcome = await run_coding(task)
        return ToolOutput(content=f"The coding agent took over the task; it finished with: {outcome}", stop=True)

    def summarize(_args: Mapping[str, Any]) -> str:
        return "delegating task to coding agent"

    return Tool(
        name=DELEGATE,
        description=DELEGATE_DESCRIPTION,
        handler=handler,
        parameters=string_params(("task", "An in depth description of the task")),
        # Not "mutating": the coding agent runs inside this call and takes the write lock itself.
        mutating=False,
        summarize=summarize,
    )


def new_planner(config: Config, workspace: Path, coding_history: Sequence[Message]) -> AgentState:
    """The planner's conversation: its system prompt plus the coding agent's initial context."""
    prompt = planner_prompt(config, instructions=read_instructions(workspace))
    context = [m for m in coding_history if isinstance(m, UserMessage)]
    return AgentState(history=[SystemMessage(content=prompt), *context])


def planner_registry(coding: ToolRegistry, delegate: Tool) -> ToolRegistry:
    """The coding agent's tools without the editing ones, plus ``delegate``."""
    tools = [tool for tool in coding if tool.name not in PLANNER_EXCLUDED]
    return ToolRegistry([*tools, delegate])
