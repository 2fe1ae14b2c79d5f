"""Prompt templates (Jinja2, StrictUndefined) and the constraints of kwaak's coding agent."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kwaak.config import Config
from kwaak.templating import render_template

_TEMPLATES = Path(__file__).parent / "templates"
INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
MAX_INSTRUCTIONS_CHARS = 20_000
MAX_INSTRUCTIONS_BYTES = 4 * 1024 * 1024

GENERAL_CONSTRAINTS = (
    "Research your answer before providing it. Tools are available, use them to find the information you need.",
    "Tool calls are in parallel. You can run multiple tool calls at the same time, "
    "but they must not rely on each other",
    "Your first response to ANY user message, must ALWAYS be your thoughts on how to solve the problem",
    "Keep a neutral tone, refrain from using superlatives and unnecessary adjectives",
    "Your response must always include your observation, your reasoning for the next step, and the next step. "
    "The format of your response should be: Observation, Reasoning, Next step",
    "Think step by step",
    "Do NOT rely on your own knowledge, always research and verify!",
    "Verify assumptions you make about the code by researching the actual code first",
    "Do not leave tasks incomplete. If you lack information, use the available tools to find the correct information",
    "Make sure you understand the project layout in terms of files and directories",
    "Research the project structure and the codebase before providing a plan",
    "When writing files, ensure you write and implement everything, everything will be overwritten and only make the "
    "requested changes",
    "If you create a pull request, you must ensure the tests pass",
    "Prefer running tests over coverage, as coverage is slower",
    "NEVER write or edit a file before having read it",
    "After every tool use, include your observations, reasoning, and the next step",
    "Write idiomatic code and tests; consider edge cases",
    "After writing tests, verify that coverage changed: you _must_ run coverage after creating a new test",
    "If a test stays troublesome, think out of the box or reset your changes and try another approach",
    "Your code must run, tests must pass, and everything must be part of the build",
    "Document public items in the idiomatic way of the language",
    "Do NOT remove any existing comments",
    "Keep existing functionality unless you are told otherwise",
    "Understand the architecture of the project before changing it",
    "Code that is no longer used after your change may be removed",
    "Your changes are automatically added to git, there is no need to commit files yourself",
    "You are already on a branch created specifically for this task, do not create another one",
    "If you are stuck, consider using reset_file to undo your changes",
    "Focus on completing the task as requested",
    "Do not repeat your answers, if your message is nearly identical to previous one, "
    "consider if your task is complete",
)


def render(name: str, **values: Any) -> str:
    """Render ``templates/<name>.md.j2`` with ``values`` (missing values are errors)."""
    return render_template(_TEMPLATES, f"{name}.md.j2", **values)


def mode_constraints(config: Config) -> list[str]:
    """Constraints that depend on the edit mode (from the tool catalog) and on endless mode (kwaak §4.2)."""
    from kwaak.tools.catalog import edit_mode_constraints

    constraints = edit_mode_constraints(config)
    if config.endless_mode:
        constraints.append("You cannot ask for feedback and have to try to complete the given task")
    else:
        constraints += [
            "Try to solve the problem yourself first, only if you cannot solve it, ask for help",
            "If the problem is solved or the question is answered, call the stop tool",
        ]
    return constraints


def read_instructions(root: Path) -> list[tuple[str, str]]:
    """``AGENTS.md`` / ``CLAUDE.md`` from the repository root, truncated to a sane size.

    ``root`` is usually an agent's worktree, checked out from a branch the agent may have written:
    a link is followed only to a file inside ``root``, and the file is read through
    :func:`~kwaak.executors.safefs.read_beneath` (regular files only, size capped), so an
    ``AGENTS.md`` linking to a host secret never reaches the prompt.
    """
    found: list[tuple[str, str]] = []
    for name in INSTRUCTION_FILES:
        data = _instruction_bytes(root, name)
        if data is not None:
            text = data.decode("utf-8", errors="replace").strip()
            if len(text) > MAX_INSTRUCTIONS_CHARS:
                text = text[:MAX_INSTRUCTIONS_CHARS] + "\n[... truncated]"
            if text:
                found.append((name, text))
    return found


def _instruction_bytes(root: Path, name: str) -> bytes | None:
    from kwaak.executors.safefs import read_beneath

    base = root.resolve()
    rel = name
    if (root / name).is_symlink():  # e.g. CLAUDE.md -> AGENTS.md
        target = Path(os.path.realpath(root / name))
        if not target.is_relative_to(base):
            return None
        rel = str(target.relative_to(base))
    try:
        return read_beneath(base, rel, max_bytes=MAX_INSTRUCTIONS_BYTES)
    except (OSError, ValueError):  # missing, a directory, refused (FileRefused is a ValueError)
        return None


CODING_ROLE = (
    "You are an autonomous ai agent tasked with helping a user with a code project. You can solve coding problems "
    "yourself and should try to always work towards a full solution. The project is called {project} and is "
    "written in {language}."
)
PLANNER_ROLE = (
    "You are an autonomous ai agent tasked with helping a user with a code project. You can delegate tasks to "
    "other agents, but cannot code yourself. Your goal is to either answer questions directly, or delegate to an "
    "agent that can solve the problem. The project is called {project} and is written in {language}."
)
PLANNER_CONSTRAINTS = (
    "Research your answer before providing it, using the tools available to you",
    "Always reference full paths of files",
    "Cite the codebase when you answer questions",
    "When delegating, research the task thoroughly first, then give the coding agent a clear description, the "
    "requirements, constraints, the full paths of relevant files, a definition of done, and the edge cases to cover",
    "You cannot edit files or run commands yourself; delegate coding work with `delegate_coding_agent`",
)


def system_prompt(config: Config, *, instructions: Sequence[tuple[str, str]] = ()) -> str:
    """The coding agent's system prompt."""
    constraints = [*GENERAL_CONSTRAINTS, *mode_constraints(config), *(config.agent_custom_constraints or ())]
    return _system(config, CODING_ROLE, constraints, instructions)


def planner_prompt(config: Config, *, instructions: Sequence[tuple[str, str]] = ()) -> str:
    """The PlanAct planner's system prompt (research, plan, delegate; never edit)."""
    constraints = [*PLANNER_CONSTRAINTS, *(config.agent_custom_constraints or ())]
    if config.endless_mode:
        constraints.append("You cannot ask for feedback; delegate as soon as your plan is complete")
    else:
        constraints.append("Before delegating to an agent, you MUST ask the user if they agree to your plan")
    return _system(config, PLANNER_ROLE, constraints, instructions)


def _system(config: Config, role: str, constraints: Sequence[str], instructions: Sequence[tuple[str, str]]) -> str:
    language = ", ".join(config.languages)
    return render(
        "system",
        role=role.format(project=config.project_name, language=language),
        constraints=list(constraints),
        instructions=list(instructions),
    ).strip()


def clean_title(text: str, *, max_len: int = 60) -> str:
    """Strip quotes and whitespace and truncate to ``max_len`` characters.

    Titles and commit messages come from a model: control characters are escaped here, at the
    source, so a title or a commit message never carries a terminal escape (``git log`` prints raw).
    """
    from kwaak.textsafe import one_line

    first_line = next((line for line in text.strip().splitlines() if line.strip()), "")
    return one_line(first_line.strip().strip('"').strip("'").strip())[:max_len]
