"""``kwaak print-config``: the effective configuration as TOML, every secret masked."""

from __future__ import annotations

import click

from kwaak.commands.app import AppContext
from kwaak.config import render_config


def run(app: AppContext) -> int:
    """Print the merged configuration (file < kwaak.local.toml < KWAAK__ environment)."""
    click.echo(render_config(app.config), nl=False)
    return 0
