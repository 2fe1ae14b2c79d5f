"""Prompt weight: the fixed prefix of every agent request (system prompt + tool schemas), in tokens.

The prefix is what each of an agent's requests repeats before the conversation: it decides the
input-token floor per step and, being identical from request to request, what a provider's prompt
cache can reuse. Counted with ``o200k_base`` (``bpe-openai``, the ``tokenizer`` extra) when
installed, else the calibrated estimate of :mod:`kwaak.llm.tokens`; the tool schemas are counted
as they go on the OpenAI wire (``kwaak.llm.openai_wire.to_openai_tools``).

Configurations: ``-s`` (no index: ``explain_code`` left out) and with an index; the default
``patch`` edit mode, ``commands.test`` set, no GitHub, no MCP. Also checks that two builds give
the same bytes (stable ordering, so prompt caches hit).

Usage: ``python bench/bench_prompt.py [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from kwaak.agent.prompts import system_prompt
from kwaak.config.loader import validate_config
from kwaak.llm.openai_wire import to_openai_tools
from kwaak.llm.tokens import TokenCounter, wait_for_bpe
from kwaak.tools.catalog import builtin_tools


def config_for(repo: Path) -> Any:
    """A typical config: Scripted models (no keys needed), local executor, tests configured."""
    data = {
        "project_name": "bench",
        "language": "python",
        "llm": {role: {"provider": "Scripted"} for role in ("indexing", "query", "embedding")},
        "commands": {"test": "python -m pytest -q"},
        "git": {"auto_push_remote": False, "main_branch": "main"},
        "tool_executor": "local",
        "cache_dir": str(repo / "cache"),
    }
    return validate_config(data, root=repo)


def prefix(config: Any, *, has_index: bool) -> tuple[str, str]:
    """The system prompt and the OpenAI ``tools`` array (JSON) of a fresh agent."""
    tools = builtin_tools(config, has_workspace=True, has_index=has_index)
    wire = to_openai_tools([tool.spec() for tool in tools]).tools
    return system_prompt(config), json.dumps(wire)


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description="kwaak prompt weight")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    wait_for_bpe("o200k_base")
    counter = TokenCounter("gpt-4o")
    figures: dict[str, Any] = {"tokenizer": counter.tokenizer}
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        config = config_for(repo)
        print(f"fixed prefix per request ({counter.tokenizer}):")
        for label, has_index in (("skip_indexing", False), ("indexed", True)):
            system, tools = prefix(config, has_index=has_index)
            stable = prefix(config, has_index=has_index) == (system, tools)
            count = len(json.loads(tools))
            figures[label] = {
                "system_tokens": counter.text(system),
                "tools_tokens": counter.text(tools),
                "tools": count,
                "tools_bytes": len(tools.encode()),
                "stable": stable,
            }
            row = figures[label]
            total = row["system_tokens"] + row["tools_tokens"]
            row["total_tokens"] = total
            print(
                f"  {label:<14} system {row['system_tokens']:5d} + {count:2d} tool schemas {row['tools_tokens']:5d} "
                f"({row['tools_bytes']:,} bytes) = {total:5d} tokens; identical across builds: {stable}"
            )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
