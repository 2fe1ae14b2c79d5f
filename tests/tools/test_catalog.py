"""builtin_tools assembly per edit mode and toggle, summaries, and edit-mode constraints."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kwaak.config import Config
from kwaak.tools.catalog import builtin_tools, edit_mode_constraints

ALWAYS = ["write_file", "search_file", "git", "shell_command", "search_code", "fetch_url", "explain_code"]


def names(config: Config, **kwargs: bool) -> list[str]:
    return [tool.name for tool in builtin_tools(config, **kwargs)]


@pytest.mark.parametrize(
    ("mode", "edit_tools"),
    [
        ("patch", ["read_file_with_line_numbers", "patch_file"]),
        ("line", ["read_file_with_line_numbers", "replace_lines", "add_lines"]),
        ("whole", ["read_file"]),
    ],
)
def test_edit_mode_selects_tools(make_config: Callable[..., Config], mode: str, edit_tools: list[str]) -> None:
    config = make_config(agent_edit_mode=mode)
    assert names(config) == [*ALWAYS, *edit_tools, "run_tests", "reset_file", "stop"]


def test_explain_code_is_left_out_without_an_index(make_config: Callable[..., Config]) -> None:
    """Under --skip-indexing explain_code could only fail: it is not offered (a lighter prompt)."""
    config = make_config()
    without = names(config, has_index=False)
    assert "explain_code" not in without
    assert without == [name for name in names(config) if name != "explain_code"], "the order stays stable"


def test_optional_tools(make_config: Callable[..., Config]) -> None:
    bare = make_config(commands={"test": None})
    assert names(bare, has_workspace=False) == [*ALWAYS, "read_file_with_line_numbers", "patch_file", "stop"]
    full = make_config(
        commands={"test": "pytest", "coverage": "pytest --cov"},
        tavily_api_key="text:tvly-123",
        github_api_key="text:ghp-123",
        git={"owner": "acme", "repository": "widgets"},
    )
    assert names(full) == [
        *ALWAYS,
        "read_file_with_line_numbers",
        "patch_file",
        "create_or_update_pull_request",
        "github_search_code",
        "search_web",
        "run_tests",
        "run_coverage",
        "reset_file",
        "stop",
    ]
    assert "github_search_code" not in names(full, github_enabled=False)
    assert "github_search_code" in names(make_config(), github_enabled=True)


def test_tools_toggles_remove_builtins_but_never_stop(make_config: Callable[..., Config]) -> None:
    config = make_config(tools={"shell_command": False, "fetch_url": False, "stop": False, "patch_file": False})
    result = names(config)
    assert "shell_command" not in result and "fetch_url" not in result and "patch_file" not in result
    assert result[-1] == "stop"
    assert len(result) == len(set(result))


def test_no_github_configuration_needed(make_config: Callable[..., Config]) -> None:
    config = make_config(github_api_key=None)
    assert not config.github_enabled()
    assert "create_or_update_pull_request" not in names(config)


def test_every_tool_has_a_spec_and_summary(make_config: Callable[..., Config]) -> None:
    tools = {
        tool.name: tool
        for mode in ("patch", "line", "whole")
        for tool in builtin_tools(make_config(agent_edit_mode=mode))
    }
    expected = {
        "shell_command": ({"cmd": "ls -la"}, "running shell command `ls -la`"),
        "read_file": ({"file_name": "a.py"}, "reading file `a.py`"),
        "read_file_with_line_numbers": ({"file_name": "a.py"}, "reading file `a.py` (with line numbers)"),
        "write_file": ({"file_name": "a.py", "content": "x"}, "writing file `a.py`"),
        "search_file": ({"file_name": "calc"}, "searching for files matching `calc`"),
        "search_code": ({"query": "def add"}, "searching for code matching `def add`"),
        "git": ({"command": "status"}, "running git command `status`"),
        "explain_code": ({"query": "auth"}, "querying for code explaining `auth`"),
        "run_tests": ({}, "running tests"),
        "patch_file": ({"file_name": "a.py", "patch": "@@"}, "applying patch to file `a.py`"),
        "reset_file": ({"file_name": "a.py"}, "resetting file `a.py` to last committed state"),
        "replace_lines": ({"file_name": "a.py"}, "replacing lines in file `a.py`"),
        "add_lines": ({"file_name": "a.py"}, "adding lines to file `a.py`"),
    }
    for name, (args, summary) in expected.items():
        assert tools[name].describe(args) == summary, name
    for tool in tools.values():
        spec = tool.spec()
        assert spec.description and spec.parameters["type"] == "object"
        assert all(p["type"] == "string" for p in spec.parameters["properties"].values()), tool.name


def test_edit_mode_constraints(make_config: Callable[..., Config]) -> None:
    patch = edit_mode_constraints(make_config(agent_edit_mode="patch"))
    assert "Prefer editing files with `patch_file` over `write_file`. This is faster and less error prone." in patch
    assert "If `patch_file` continues to be troublesome, defer to `write_file` instead." in patch
    line = " ".join(edit_mode_constraints(make_config(agent_edit_mode="line")))
    assert "`replace_lines`" in line and "If you are only adding NEW lines, you MUST use `add_lines`." in line
    assert "not allowed to count lines yourself" in line
    whole = " ".join(edit_mode_constraints(make_config(agent_edit_mode="whole")))
    assert "`write_file`" in whole and "patch_file" not in whole
