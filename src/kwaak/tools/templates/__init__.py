"""Jinja2 templates of tool outputs and bodies (pull request, search results, GitHub issues)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kwaak.templating import render_template

_DIR = Path(__file__).parent


def render(name: str, **context: Any) -> str:
    """Render the template file ``name`` of this package with ``context`` (strict: no undefined names)."""
    return render_template(_DIR, name, **context).strip() + "\n"
