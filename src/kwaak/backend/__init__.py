"""The backend: sessions, the agent loop's surroundings, and the operation/event protocol."""

from kwaak.backend.backend import Backend
from kwaak.backend.runtime import Models, Runtime
from kwaak.backend.session import Session

__all__ = ["Backend", "Models", "Runtime", "Session"]
