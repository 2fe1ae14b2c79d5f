"""Configuration: ``load_config(root)`` → an immutable :class:`Config`."""

from kwaak.config.loader import load_config, validate_config
from kwaak.config.model import Config, LLMConfig
from kwaak.config.render import render_config
from kwaak.config.secrets import ApiKey

__all__ = ["ApiKey", "Config", "LLMConfig", "load_config", "render_config", "validate_config"]
