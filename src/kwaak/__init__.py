"""kwaak: run a team of autonomous AI coding agents on your code, right from your terminal."""

__version__ = "0.1.0"

__all__ = ["__version__"]
