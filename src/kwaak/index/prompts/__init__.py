"""Prompt templates of the index (jinja2, strict): Q&A metadata, sub-questions, answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kwaak.templating import render_template

_DIR = Path(__file__).parent


def render(name: str, **values: Any) -> str:
    """Render ``<name>.md.j2`` with ``values``."""
    return render_template(_DIR, f"{name}.md.j2", **values)
