"""Jinja2 templates of tool outputs and bodies (pull request, search results, GitHub issues)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, StrictUndefined, Template


@cache
def _environment() -> Environment:
    return Environment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)


@cache
def _template(name: str) -> Template:
    source = (files(__package__) / name).read_text(encoding="utf-8")
    return _environment().from_string(source)


def render(name: str, **context: Any) -> str:
    """Render the template file ``name`` of this package with ``context`` (strict: no undefined names)."""
    return _template(name).render(**context).strip() + "\n"
