"""Prompt templates of the evaluations (jinja2, strict): the patch task and the SWE-bench task."""

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
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **values: Any) -> str:
    """Render ``<name>.md.j2`` with ``values``."""
    return _env().get_template(f"{name}.md.j2").render(**values).strip() + "\n"
