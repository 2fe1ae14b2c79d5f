"""Reuse the code ``dataclasses`` generates, the way ``.pyc`` files reuse a module's code.

On Python 3.11 every ``@dataclass`` compiles the source of its ``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, ``__setattr__``... with ``exec`` when the class is created: ~0.3 ms per
class, ~60 ms of a kwaak start (about 200 classes are created before the first model request).
That source depends only on the class's fields and options, so its compiled code is cached on
disk, keyed by a hash of the source, and reused by later starts (the same code objects ``exec``
would have compiled). The file sits in kwaak's own ``__pycache__`` beside its ``.pyc`` files, so it
has their trust: whoever can write it can already rewrite kwaak's bytecode. It is not written under
``PYTHONDONTWRITEBYTECODE``, a damaged file is ignored (and replaced), and it holds at most
:data:`MAX_ENTRIES` entries (the code this process used is kept first).
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import hashlib
import importlib.util
import marshal
import os
import sys
import types
from pathlib import Path
from typing import Any

MAX_ENTRIES = 4096


def default_path() -> Path:
    """``kwaak/__pycache__/_codecache.<tag>.dataclasses`` (honours ``sys.pycache_prefix``)."""
    return Path(importlib.util.cache_from_source(__file__)).with_suffix(".dataclasses")


class CodeCache:
    """Compiled code by source hash, loaded from ``path`` and saved there at exit when it grew.

    The file maps each key to that code's own marshal bytes: loading it copies bytes only, and a
    code object is rebuilt when a class asks for it (a process uses a fraction of the entries).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.blobs = _load(path)
        self.compiled = 0
        """Sources compiled by this process (not found in the cache)."""
        self.reused = 0
        self._used: set[bytes] = set()

    def exec(self, source: Any, globals_: dict[str, Any] | None = None, locals_: Any = None) -> None:
        """``exec`` with cached compilation of source strings."""
        if not isinstance(source, str):
            builtins.exec(source, globals_, locals_)
            return
        key = hashlib.blake2b(f"{sys.flags.optimize}\0{source}".encode(), digest_size=16).digest()
        self._used.add(key)
        code = _code(self.blobs.get(key))
        if code is None:
            # ``exec`` of a string inherits no __future__ flags from dataclasses.py; neither does this.
            code = compile(source, "<string>", "exec", dont_inherit=True)
            self.blobs[key] = marshal.dumps(code)
            self.compiled += 1
        else:
            self.reused += 1
        builtins.exec(code, globals_, locals_)

    def save(self) -> None:
        """Write the cache if this process compiled anything new (atomically; errors are ignored)."""
        if not self.compiled or sys.dont_write_bytecode:
            return
        if len(self.blobs) > MAX_ENTRIES:
            keep = [k for k in self.blobs if k in self._used] + [k for k in self.blobs if k not in self._used]
            self.blobs = {k: self.blobs[k] for k in keep[:MAX_ENTRIES]}
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError, ValueError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(marshal.dumps(self.blobs))
            tmp.replace(self.path)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _code(blob: bytes | None) -> types.CodeType | None:
    if blob is None:
        return None
    try:
        code = marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def _load(path: Path) -> dict[bytes, bytes]:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict) or len(data) > MAX_ENTRIES:
        return {}
    return {k: v for k, v in data.items() if isinstance(k, bytes) and isinstance(v, bytes)}


_installed: CodeCache | None = None


def install(path: Path | None = None) -> CodeCache:
    """Make ``dataclasses`` compile through a :class:`CodeCache` at ``path`` (default: :func:`default_path`)."""
    global _installed
    if _installed is not None:
        _installed.save()
        atexit.unregister(_installed.save)
    _installed = CodeCache(path or default_path())
    # dataclasses calls `exec` by its global name: a module attribute shadows the builtin there only.
    setattr(dataclasses, "exec", _installed.exec)  # noqa: B010
    atexit.register(_installed.save)
    return _installed
