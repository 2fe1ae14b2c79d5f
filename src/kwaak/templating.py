"""Jinja2 templates shared by prompts and tool outputs: strict (a missing value is an error), no escaping."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2


@functools.cache
def environment(directory: Path, *, trim: bool = False) -> jinja2.Environment:
    """A strict environment loading templates from ``directory`` (cached per directory)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=trim,
        lstrip_blocks=trim,
    )


def render_template(directory: Path, name: str, /, *, trim: bool = False, **values: Any) -> str:
    """Render the template file ``name`` from ``directory`` with ``values``."""
    return environment(directory, trim=trim).get_template(name).render(**values)
