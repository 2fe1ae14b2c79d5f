"""Front ends (ui/, headless/, commands/, the eval runner) use the backend only through the protocol.

They may build a :class:`kwaak.backend.Backend` and submit ops, but never import the session module
or reach into the backend's sessions: the op/event protocol is the one door.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kwaak
import kwaak.backend

SRC = Path(kwaak.__file__).parent
FRONT_ENDS = [*sorted((SRC / "ui").rglob("*.py")), *sorted((SRC / "headless").rglob("*.py"))]
FRONT_ENDS += [*sorted((SRC / "commands").rglob("*.py")), SRC / "evals" / "runner.py"]


def _violations(path: Path) -> list[str]:
    found: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("kwaak.backend.session")]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module.startswith("kwaak.backend.session"):
                found.append(node.module)
            elif node.module == "kwaak.backend":
                found += [f"kwaak.backend.{a.name}" for a in node.names if a.name in ("session", "Session")]
        elif isinstance(node, ast.Attribute) and node.attr == "_sessions":
            found.append("._sessions")  # on any object: the backend's sessions are its own
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("sessions", "session", "require", "require_ready", "restore_sessions")
            and isinstance(node.value, ast.Name)
            and node.value.id == "backend"
        ):
            found.append(f"backend.{node.attr}")
    return [f"{path.relative_to(SRC)}:{name}" for name in found]


def test_no_front_end_imports_the_session_module() -> None:
    assert len(FRONT_ENDS) > 30
    assert [v for path in FRONT_ENDS for v in _violations(path)] == []


def test_the_checker_catches_each_kind_of_reach(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import kwaak.backend.session\nfrom kwaak.backend.session import Session\n"
        "from kwaak.backend import Session\nx = backend._sessions\n"
    )
    assert len(_violations_of(bad)) == 4


def _violations_of(path: Path) -> list[str]:
    global SRC
    saved, SRC = SRC, path.parent
    try:
        return _violations(path)
    finally:
        SRC = saved


def test_session_is_not_exported() -> None:
    assert "Session" not in kwaak.backend.__all__
    assert not hasattr(kwaak.backend, "Session")


def test_docs_list_every_jsonl_type() -> None:
    from kwaak import protocol as p

    doc = (SRC.parents[1] / "docs" / "jsonl.md").read_text(encoding="utf-8")
    assert f"currently **{p.JSONL_VERSION}**" in doc
    assert [t for t in p.JSONL_RECORD_TYPES if f"| `{t}` |" not in doc] == []
