"""Which sessions belong to this repository, who owns them, and what state they are really in.

Sessions are stored per *repository identity*: the resolved path of the repository's common git
directory (the same for its linked worktrees, different for a second clone), hashed into
``<cache_dir>/sessions/<name>-<hash>/``. So two clones that share a ``project_name`` (and so a
``cache_dir``) never see each other's sessions.

Stores written before this layout (``<cache_dir>/sessions/<id>/``) are moved into the repository
that has the session's branch (or, for sessions that never got a branch, the first repository that
looks), so an upgrade keeps them. Likewise, when a repository was moved or renamed (its recorded
path is gone), its sessions move to the repository that has their branches.

A session's effective status comes from its lock: a session that says ``running`` but whose owner
is gone was interrupted (a crash, a ``kill -9``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kwaak import protocol as p
from kwaak.backend.persistence import MetaDamaged, SessionMeta, SessionStore
from kwaak.backend.store_lock import owner_pid
from kwaak.errors import SessionError

log = logging.getLogger(__name__)
LIVE_STATUSES = frozenset({"running", "starting", "awaiting_approval"})
"""Statuses that only make sense while an owner process runs the session."""
_REPO_FILE = "repository"


@functools.cache
def repo_identity(repo_root: Path) -> Path:
    """The resolved common git dir of the repository at ``repo_root`` (its identity)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--git-common-dir"], cwd=repo_root, capture_output=True, text=True, check=False
        )
    except OSError:
        return repo_root.resolve()
    out = result.stdout.strip()
    if result.returncode != 0 or not out:
        return repo_root.resolve()
    return (repo_root / out).resolve()


def repo_key(identity: Path) -> str:
    """A readable, stable directory name for a repository identity."""
    base = identity.parent.name if identity.name == ".git" else identity.name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.")[:40] or "repo"
    return f"{safe}-{hashlib.sha256(str(identity).encode()).hexdigest()[:12]}"


def sessions_dir(cache_dir: Path, repo_root: Path) -> Path:
    """Where this repository's sessions are stored."""
    identity = repo_identity(repo_root.resolve())
    root = cache_dir / "sessions" / repo_key(identity)
    marker = root / _REPO_FILE
    if not marker.exists():
        with contextlib.suppress(OSError):
            root.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{identity}\n", encoding="utf-8")
    return root


@dataclass
class SessionEntry:
    """One stored session as seen from this process."""

    store: SessionStore
    meta: SessionMeta | None
    """``None`` when ``meta.json`` is damaged and could not be rebuilt."""
    owner: int | None = None
    """The pid of the live process that owns it (maybe this one); ``None``: nobody."""
    problem: str | None = None
    """What is wrong with a damaged session (names the file)."""

    @property
    def id(self) -> str:
        """The session id."""
        return self.store.session_id

    @property
    def status(self) -> str:
        """The effective status: ``damaged``, ``interrupted`` when its owner is gone, or the stored one."""
        if self.meta is None:
            return "damaged"
        if self.owner is None and self.meta.status in LIVE_STATUSES:
            return "interrupted"
        return self.meta.status

    @property
    def in_use_elsewhere(self) -> bool:
        """Owned by another live process."""
        return self.owner is not None and not self.store.owned

    def info(self, *, open_here: bool = False) -> p.StoredSession:
        """The protocol view of this entry (for the TUI's session picker); ``open_here``: this backend owns it."""
        meta = self.meta
        usage = meta.usage_value() if meta else None
        return p.StoredSession(
            session_id=self.id,
            title=meta.title if meta else None,
            origin=(meta.origin if meta else "") or "-",
            status=self.status,
            branch=meta.branch if meta else None,
            updated_at=meta.updated_at if meta else 0.0,
            tokens=usage.total_tokens if usage else 0,
            cost_usd=round(usage.cost_usd, 6) if usage else 0.0,
            owner_pid=self.owner if self.in_use_elsewhere and not open_here else None,
            problem=self.problem,
            open_here=open_here,
        )


def list_sessions(cache_dir: Path, repo_root: Path, *, repair: bool = True) -> list[SessionEntry]:
    """Every stored session of this repository, oldest first (damaged ones included, last).

    With ``repair``, legacy stores are moved in and a damaged ``meta.json`` of a session nobody
    owns is rebuilt from its logs (reported in the store's ``problems``).
    """
    root = sessions_dir(cache_dir, repo_root)
    if repair:
        migrate_legacy(cache_dir, root, repo_root)
    entries: list[SessionEntry] = []
    with contextlib.suppress(FileNotFoundError):
        for child in sorted(root.iterdir()):
            if child.is_dir() and any((child / name).exists() for name in ("meta.json", "history.jsonl")):
                entries.append(_entry(SessionStore(root, child.name), repair=repair))
    return sorted(entries, key=lambda e: (e.meta is None, e.meta.created_at if e.meta else 0.0))


def _entry(store: SessionStore, *, repair: bool) -> SessionEntry:
    owner = store.owner_pid()
    try:
        return SessionEntry(store=store, meta=store.load_meta(), owner=owner)
    except MetaDamaged as exc:
        damage = exc
    if repair and owner is None:
        try:
            return SessionEntry(store=store, meta=rebuild_meta(store), owner=None)
        except SessionError as exc:
            log.warning("could not rebuild %s: %s", damage.path, exc)
    problem = f"{damage.message}; hint: {damage.hint}"
    return SessionEntry(store=store, meta=None, owner=owner, problem=problem)


def rebuild_meta(store: SessionStore) -> SessionMeta:
    """Rebuild a damaged ``meta.json`` from the session's event log and history, and save it.

    Raises:
        SessionError: the logs hold nothing to rebuild from (or another process owns it).
    """
    path = store.dir / "meta.json"
    owned_before = store.owned
    store.claim()
    try:
        events = store.load_events()
        history = store.load_history()
        if not events and not history:
            msg = f"{path} is damaged and the session has no log to rebuild it from"
            raise SessionError(msg, hint="delete the session with `kwaak sessions delete ID`")
        meta = SessionMeta(id=store.session_id, status="interrupted")
        for record in events:
            _apply_event(meta, record)
        goal = next((r.get("text") for r in events if r.get("type") == "user_message"), None)
        meta.goal = goal if isinstance(goal, str) else None
        if events:
            meta.created_at = float(events[0].get("timestamp") or meta.created_at)
        if meta.status in LIVE_STATUSES:
            meta.status = "interrupted"
        store.save_meta(meta)
        store.problems.append(f"{path} was damaged; rebuilt it from the session's logs")
        log.warning("rebuilt %s from the session's logs", path)
        return meta
    finally:
        if not owned_before:
            store.release()


def _apply_event(meta: SessionMeta, record: dict[str, object]) -> None:
    kind = record.get("type")
    if kind == "session_renamed" and isinstance(record.get("title"), str):
        meta.title = str(record["title"])
    elif kind == "branch_renamed" and isinstance(record.get("branch"), str):
        meta.branch = str(record["branch"])
    elif kind == "status_changed" and isinstance(record.get("status"), str):
        meta.status = str(record["status"])
    elif kind == "usage_updated" and isinstance(record.get("session"), dict):
        usage = dict(record["session"])  # type: ignore[call-overload]
        steps = usage.pop("steps", 0)
        meta.steps = int(steps) if isinstance(steps, int) else 0
        fields = ("input_tokens", "output_tokens", "cached_tokens", "cost_usd")
        meta.usage = {k: v for k, v in usage.items() if k in fields}


def migrate_legacy(cache_dir: Path, root: Path, repo_root: Path) -> list[str]:
    """Move sessions stored per project name (before per-repository stores) into ``root``.

    A session moves when its branch exists in this repository, or when it never got a branch.
    Returns the moved session ids.
    """
    legacy_root = cache_dir / "sessions"
    moved: list[str] = []
    with contextlib.suppress(FileNotFoundError):
        for child in legacy_root.iterdir():
            if child == root:
                continue
            if (child / _REPO_FILE).exists():
                moved += _adopt_from_moved_repository(child, root, repo_root)
            elif (child / "meta.json").is_file() and _belongs_here(child, repo_root):
                with contextlib.suppress(OSError):
                    child.rename(root / child.name)
                    moved.append(child.name)
    if moved:
        log.info("moved %d session(s) into the per-repository store %s", len(moved), root)
    return moved


def _adopt_from_moved_repository(other: Path, root: Path, repo_root: Path) -> list[str]:
    """Sessions of a repository that no longer exists at its path (moved or renamed) and whose branch is here."""
    recorded = Path((other / _REPO_FILE).read_text(encoding="utf-8").strip() or "/nonexistent")
    if recorded.exists():
        return []
    adopted: list[str] = []
    for session_dir in other.iterdir():
        if not session_dir.is_dir() or owner_pid(session_dir) is not None:
            continue
        meta_ok = (session_dir / "meta.json").is_file()
        if meta_ok and _has_branch_here(session_dir, repo_root) and not (root / session_dir.name).exists():
            with contextlib.suppress(OSError):
                session_dir.rename(root / session_dir.name)
                adopted.append(session_dir.name)
    return adopted


def _has_branch_here(session_dir: Path, repo_root: Path) -> bool:
    try:
        branch = SessionStore(session_dir.parent, session_dir.name).load_meta().branch
    except (MetaDamaged, SessionError):
        return False
    return bool(branch) and _belongs_here(session_dir, repo_root)


def _belongs_here(session_dir: Path, repo_root: Path) -> bool:
    try:
        meta = SessionStore(session_dir.parent, session_dir.name).load_meta()
    except MetaDamaged:
        return False
    if not meta.branch:
        return True
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{meta.branch}"],
        cwd=repo_root,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def all_session_ids(cache_dir: Path) -> set[str]:
    """The ids of every stored session of every repository sharing ``cache_dir`` (worktree cleanup keeps them)."""
    ids: set[str] = set()
    with contextlib.suppress(FileNotFoundError):
        for child in (cache_dir / "sessions").iterdir():
            if (child / _REPO_FILE).exists():
                ids.update(d.name for d in child.iterdir() if d.is_dir())
            elif child.is_dir():
                ids.add(child.name)
    return ids
