"""Prompt templates of the index (jinja2, strict): Q&A metadata, sub-questions, answers."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

_DIR = Path(__file__).parent


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def render(name: str, **values: Any) -> str:
    """Render ``<name>.md.j2`` with ``values``."""
    return _env().get_template(f"{name}.md.j2").render(**values)
