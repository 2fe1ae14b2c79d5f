"""The Textual terminal UI: renders backend events, posts operations."""

from kwaak.ui.app import KwaakApp

__all__ = ["KwaakApp"]
