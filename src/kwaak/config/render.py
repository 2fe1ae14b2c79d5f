"""Render a :class:`Config` back to TOML with every secret masked (``print-config``)."""

from __future__ import annotations

from typing import Any

import tomli_w

from kwaak.config.model import Config


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return value


def render_config(config: Config) -> str:
    """The effective configuration as TOML; secrets appear as ``ApiKey(****)``."""
    data = config.model_dump(mode="json", by_alias=False)
    return tomli_w.dumps(_drop_none(data))
