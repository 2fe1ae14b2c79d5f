"""kwaak._codecache: dataclasses' generated code is compiled once and reused by later processes (issue 26)."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """
import sys
from dataclasses import FrozenInstanceError, dataclass, field
from pathlib import Path

from kwaak import _codecache

cache = _codecache.install(Path(sys.argv[1]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    x: int
    tags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False)


p = Point(x=1, tags=("a",))
assert repr(p) == "Point(x=1, tags=('a',), notes=[])", repr(p)
assert p == Point(x=1, tags=("a",), notes=["other"]) and p != Point(x=2)
assert hash(p) == hash(Point(x=1, tags=("a",)))
assert not hasattr(p, "__dict__")
try:
    p.x = 2  # type: ignore[misc]
except FrozenInstanceError:
    pass
else:
    raise AssertionError("frozen")
try:
    Point(1)  # type: ignore[misc]
except TypeError:
    pass
else:
    raise AssertionError("kw_only")
print(cache.compiled, cache.reused)
"""


def _run(cache: Path, **env: str) -> tuple[int, int]:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(cache)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, **env},
    )
    assert proc.returncode == 0, proc.stderr
    compiled, reused = proc.stdout.split()
    return int(compiled), int(reused)


def test_second_process_reuses_the_compiled_code_and_classes_behave_the_same(tmp_path: Path) -> None:
    cache = tmp_path / "pycache" / "codes.dataclasses"
    compiled, reused = _run(cache)
    assert compiled > 0 and cache.is_file()
    again_compiled, again_reused = _run(cache)
    assert again_compiled == 0, "everything came from the cache"
    assert again_reused >= compiled


def test_a_damaged_cache_is_ignored_and_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "codes.dataclasses"
    cache.write_bytes(b"\x00garbage, not marshal data")
    compiled, _ = _run(cache)
    assert compiled > 0
    assert _run(cache)[0] == 0


def test_nothing_is_written_under_dont_write_bytecode(tmp_path: Path) -> None:
    cache = tmp_path / "codes.dataclasses"
    assert _run(cache, PYTHONDONTWRITEBYTECODE="1")[0] > 0
    assert not cache.exists()


def test_the_cache_stays_bounded_and_keeps_what_this_process_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kwaak import _codecache

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    cache = _codecache.CodeCache(tmp_path / "codes.dataclasses")
    blob = marshal.dumps(compile("pass", "<string>", "exec"))
    cache.blobs = {bytes([i % 256, i // 256]): blob for i in range(_codecache.MAX_ENTRIES)}
    namespace: dict[str, object] = {}
    cache.exec("def f():\n    return 42\n", namespace, namespace)
    assert len(cache.blobs) == _codecache.MAX_ENTRIES + 1
    cache.save()
    saved = _codecache.CodeCache(cache.path)
    assert len(saved.blobs) == _codecache.MAX_ENTRIES
    saved.exec("def f():\n    return 42\n", namespace, namespace)
    assert saved.compiled == 0 and saved.reused == 1
