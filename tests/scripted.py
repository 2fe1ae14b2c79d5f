"""Write a kwaak.toml (and its script) that runs the Scripted provider, for tests of the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def tool(name: str, **arguments: Any) -> dict[str, Any]:
    """A script step calling one tool."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def write_scripted_config(repo: Path, script: list[dict[str, Any]], *, name: str = "kwaak", extra: str = "") -> Path:
    """``<repo parent>/<name>.toml`` with Scripted models (the query model plays ``script``), local executor.

    ``extra`` is TOML inserted before the tables (top-level keys, or whole tables at the end).
    """
    script_path = repo.parent / f"{name}.script.json"
    script_path.write_text(json.dumps(script))
    config = repo.parent / f"{name}.toml"
    config.write_text(
        f"""
project_name = "{repo.name}"
language = "python"
tool_executor = "local"
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"
{extra}
[llm.indexing]
provider = "Scripted"
[llm.query]
provider = "Scripted"
script = "{script_path}"
[llm.embedding]
provider = "Scripted"
"""
    )
    return config


def run_kwaak(repo: Path, config: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the real ``kwaak -c CONFIG ARGS...`` in ``repo`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(config), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse JSONL output (every line must be a JSON object)."""
    return [json.loads(line) for line in text.splitlines()]
