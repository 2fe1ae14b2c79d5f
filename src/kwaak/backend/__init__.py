"""The backend: sessions, the agent loop's surroundings, and the operation/event protocol.

Front ends (``ui/``, ``headless/``, ``commands/``) use :class:`Backend` with the ops and events of
:mod:`kwaak.protocol` only; sessions are the backend's business (``tests/test_front_end_imports.py``).
"""

from kwaak.backend.backend import Backend
from kwaak.backend.runtime import Models, Runtime

__all__ = ["Backend", "Models", "Runtime"]
