"""Prompt templates of the evaluations (jinja2, strict): the patch task and the SWE-bench task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kwaak.templating import render_template

_DIR = Path(__file__).parent


def render(name: str, **values: Any) -> str:
    """Render ``<name>.md.j2`` with ``values``."""
    return render_template(_DIR, f"{name}.md.j2", trim=True, **values).strip() + "\n"
