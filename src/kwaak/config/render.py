"""Render a :class:`Config` back to TOML with every secret masked (``print-config``)."""

from __future__ import annotations

from typing import Any

import tomli_w

from kwaak.config.model import Config


def _prune(value: Any) -> Any:
    """Drop ``None`` values and empty tables, which TOML cannot or need not express."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(value, list):
        return [_prune(v) for v in value if v is not None]
    return value


def render_config(config: Config) -> str:
    """The effective configuration as TOML; secrets appear as ``ApiKey(****)``.

    The output loads again as a config file (with the real secrets substituted).
    """
    data = config.model_dump(mode="json", by_alias=True)
    languages = data.get("language")
    if isinstance(languages, list) and len(languages) == 1:
        data["language"] = languages[0]
    return tomli_w.dumps(_prune(data))
