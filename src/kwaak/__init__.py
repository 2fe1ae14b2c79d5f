"""kwaak: run a team of autonomous AI coding agents on your code, right from your terminal."""

from kwaak import _codecache

__version__ = "0.1.0"

__all__ = ["__version__"]

_codecache.install()  # before any kwaak module defines its dataclasses (see kwaak._codecache)
