"""The base class of every configuration model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """Immutable and rejects unknown keys.

    The docstrings under fields document them (``kwaak.config.docs`` reads them from the source);
    pydantic is not asked to collect them at import (``use_attribute_docstrings`` costs ~25 ms of
    every start).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def empty_to_none(value: Any) -> Any:
    """Treat ``""`` as "not set" (kwaak's onboarding wrote ``base_url = ""``)."""
    return None if isinstance(value, str) and not value.strip() else value
