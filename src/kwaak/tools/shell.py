"""Command tools: ``shell_command``, ``git``, ``run_tests`` and ``run_coverage``.

``shell_command`` is a shell on purpose (the model writes shell). ``git`` splits its argument
with :mod:`shlex` and runs an argv, so ``status; rm -rf ~`` reaches git as arguments, never a
shell. Both refuse to change branches: each agent works on a branch made for it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from kwaak.tools.base import Tool, ToolContext, ToolError, ToolOutput, string_params
from kwaak.tools.common import arg, command_result, run, summary_value

BRANCH_CHANGE_REFUSED = "You cannot change branches, you are already on a branch created specifically for you."

_SEGMENTS = re.compile(r"&&|\|\||[;|&\n()]")
_GIT_OPTIONS_WITH_VALUE = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"}


def changes_branch(git_args: list[str]) -> bool:
    """Whether ``git <git_args>`` would switch branches (``git checkout -- file`` does not)."""
    rest = _skip_global_options(git_args)
    if not rest:
        return False
    command, params = rest[0], rest[1:]
    if command == "switch":
        return True
    if command != "checkout":
        return False
    restores_files = "--" in params or params == ["."] or any(p in {"-p", "--patch"} for p in params)
    return not restores_files


def _skip_global_options(args: list[str]) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _GIT_OPTIONS_WITH_VALUE else 1
    return args[i:]


def shell_changes_branch(cmd: str) -> bool:
    """Whether any simple command in the shell string ``cmd`` is a ``git checkout/switch`` of a branch."""
    for segment in _SEGMENTS.split(cmd):
        try:
            words = shlex.split(segment, comments=True)
        except ValueError:
            words = segment.split()
        while words and "=" in words[0] and not words[0].startswith("="):
            words = words[1:]  # VAR=value prefixes
        if words and words[0] == "git" and changes_branch(words[1:]):
            return True
    return False


async def _shell_command(ctx: ToolContext, args: dict[str, Any]) -> str | ToolOutput:
    cmd = arg(args, "cmd")
    if not cmd.strip():
        msg = "`cmd` is empty; give the shell command to run"
        raise ToolError(msg)
    if shell_changes_branch(cmd):
        return BRANCH_CHANGE_REFUSED
    return command_result(ctx, await run(ctx, cmd))


def shell_command_tool() -> Tool:
    """``shell_command``: run a shell command in the project."""
    return Tool(
        name="shell_command",
        description=(
            "Run any shell command in the current project, use this if other tools are not enough. "
            "The output (stdout and stderr) is returned, with the exit code when it is not zero."
        ),
        handler=_shell_command,
        parameters=string_params(("cmd", "The shell command, including any arguments if needed, to run")),
        summarize=lambda args: f"running shell command `{summary_value(args, 'cmd')}`",
    )


async def _git(ctx: ToolContext, args: dict[str, Any]) -> str | ToolOutput:
    command = arg(args, "command").strip()
    try:
        words = shlex.split(command)
    except ValueError as exc:
        msg = f"Cannot parse the git command `{command}`: {exc} (check the quoting)"
        raise ToolError(msg) from exc
    if words and words[0] == "git":
        words = words[1:]  # models often repeat the `git` itself
    if not words:
        msg = "`command` is empty; give a git sub-command such as `status` or `log --oneline -5`"
        raise ToolError(msg)
    if changes_branch(words):
        return BRANCH_CHANGE_REFUSED
    return command_result(ctx, await run(ctx, ["git", *words]), counts=False)


def git_tool() -> Tool:
    """``git``: run a git sub-command (an argv, not a shell)."""
    return Tool(
        name="git",
        description=(
            "Invoke a git command on the current repository. Give only the sub-command and its arguments, "
            "e.g. `status` or `diff HEAD~1`. Shell syntax (pipes, `&&`, redirections) is not interpreted."
        ),
        handler=_git,
        parameters=string_params(("command", "Git sub-command to run")),
        summarize=lambda args: f"running git command `{summary_value(args, 'command')}`",
    )


def _configured_command(key: str) -> Any:
    async def handler(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
        cmd: str | None = getattr(ctx.config.commands, key)
        if not cmd:
            msg = f"No `commands.{key}` is configured for this project."
            raise ToolError(msg)
        return command_result(ctx, await run(ctx, cmd))

    return handler


def run_tests_tool() -> Tool:
    """``run_tests``: the project's ``commands.test``."""
    return Tool(
        name="run_tests",
        description="Runs tests in the current project. Run this in favour of coverage, as it is typically faster.",
        handler=_configured_command("test"),
        summarize=_fixed("running tests"),
    )


def run_coverage_tool() -> Tool:
    """``run_coverage``: the project's ``commands.coverage``."""
    return Tool(
        name="run_coverage",
        description=(
            "Get coverage of tests, this also runs the tests. Only run this when you need the coverage, "
            "as it is typically slower than running the tests."
        ),
        handler=_configured_command("coverage"),
        summarize=_fixed("running tests and gathering coverage"),
    )


def _fixed(text: str) -> Any:
    def summarize(args: Mapping[str, Any]) -> str:
        return text

    return summarize
