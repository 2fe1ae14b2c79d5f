"""docs/configuration.md is generated from the config models and must stay in sync."""

from __future__ import annotations

from pathlib import Path

from kwaak.config.docs import render_reference
from kwaak.config.model import Config

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_reference_is_up_to_date() -> None:
    assert DOC.read_text() == render_reference(), (
        "docs/configuration.md is stale: run `.venv/bin/python -m kwaak.config.docs > docs/configuration.md`"
    )


def test_every_top_level_key_is_documented() -> None:
    text = DOC.read_text()
    for name, info in Config.model_fields.items():
        assert f"| `{info.alias or name}` |" in text
    for section in ("[git]", "[commands]", "[docker]", "[backoff]", "[[mcp]]", "[ui]", "[llm.<role>.embedding_model]"):
        assert f"`{section}`" in text
