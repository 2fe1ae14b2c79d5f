"""The base class of every configuration model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """Immutable, rejects unknown keys, and keeps attribute docstrings as field descriptions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True)


def empty_to_none(value: Any) -> Any:
    """Treat ``""`` as "not set" (kwaak's onboarding wrote ``base_url = ""``)."""
    return None if isinstance(value, str) and not value.strip() else value
