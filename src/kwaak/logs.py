"""Logging to a per-project file: never to stdout/stderr, never a secret.

``setup_logging`` installs one daily-rotating file handler on the root logger, writing
``<log_dir>/<project>.log`` (older days are kept as ``<project>.log.YYYY-MM-DD``, a week of them).
Levels come from ``KWAAK_LOG``: a default level and optional per-logger levels, e.g. ``debug`` or
``kwaak.agent=debug,httpx=warning,info``. The default is ``warning``. Every formatted line,
tracebacks included, has the configured secret values replaced by ``****``.

Records are tagged with the session they belong to: the backend binds the session id to a context
variable for each operation (:func:`bind_session` / :func:`session_context`), asyncio tasks and
``to_thread`` calls inherit it, and the record factory installed by :func:`install_session_records`
copies it onto every :class:`logging.LogRecord` as ``session_id`` (``None`` outside a session).
The file shows it as ``[session <id>]`` after the logger name; other handlers (the TUI's Logs tab)
read the attribute.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import logging.handlers
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import platformdirs

from kwaak.errors import ConfigError

LOG_ENV = "KWAAK_LOG"
DEFAULT_LEVEL = logging.WARNING
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s%(session_tag)s: %(message)s"
_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "off": logging.CRITICAL + 10,
}


_session_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("kwaak_log_session", default=None)


def bind_session(session_id: str | None) -> contextvars.Token[str | None]:
    """Tag log records of the current context (and tasks started from it) with ``session_id``."""
    return _session_id.set(session_id)


@contextlib.contextmanager
def session_context(session_id: str | None) -> Iterator[None]:
    """Tag log records emitted inside the ``with`` block with ``session_id``."""
    token = _session_id.set(session_id)
    try:
        yield
    finally:
        _session_id.reset(token)


def current_session_id() -> str | None:
    """The session the current code runs for, if any."""
    return _session_id.get()


class _SessionRecordFactory:
    """Wraps the previous record factory and adds ``session_id`` to each record."""

    def __init__(self, wrapped: Callable[..., logging.LogRecord]) -> None:
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        record.session_id = _session_id.get()
        return record


def install_session_records() -> None:
    """Make every new log record carry ``session_id`` (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _SessionRecordFactory):
        logging.setLogRecordFactory(_SessionRecordFactory(factory))


class RedactingFormatter(logging.Formatter):
    """A formatter that masks known secret values anywhere in the output."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(LOG_FORMAT)
        # Longest first so that a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """Format the record (with its session, if any), then mask every secret."""
        session = getattr(record, "session_id", None)
        record.session_tag = f" [session {session}]" if session else ""
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text


class KwaakFileHandler(logging.handlers.TimedRotatingFileHandler):
    """The project log file (a marker class so it can be found and replaced)."""


def parse_log_spec(spec: str | None) -> tuple[int, dict[str, int]]:
    """Parse ``KWAAK_LOG``: ``"level"`` or ``"logger=level,...,level"``.

    Returns:
        The default level and a map of logger name → level.

    Raises:
        ConfigError: an unknown level name.
    """
    default, per_logger = DEFAULT_LEVEL, {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, level_name = part.rpartition("=")
        level = _LEVELS.get(level_name.strip().lower())
        if level is None:
            msg = f"{LOG_ENV}: unknown log level {level_name.strip()!r}"
            raise ConfigError(msg, hint=f"use one of {', '.join(_LEVELS)}, e.g. {LOG_ENV}=kwaak.agent=debug,info")
        if sep:
            per_logger[name.strip()] = level
        else:
            default = level
    return default, per_logger


def log_file_path(log_dir: Path, project_name: str) -> Path:
    """Where ``setup_logging`` writes for this project."""
    return log_dir / f"{project_name}.log"


def setup_logging(
    log_dir: Path,
    project_name: str,
    *,
    spec: str | None = None,
    secrets: Iterable[str] = (),
) -> Path:
    """Send all logging to ``<log_dir>/<project_name>.log``, replacing an earlier kwaak handler.

    Args:
        log_dir: The directory (created if missing).
        project_name: Names the file.
        spec: The ``KWAAK_LOG`` value (levels).
        secrets: Values to mask in every line.

    Returns:
        The log file path.

    Raises:
        ConfigError: a bad ``spec`` or an unwritable log directory.
    """
    default, per_logger = parse_log_spec(spec)
    path = log_file_path(log_dir, project_name)
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = KwaakFileHandler(path, when="midnight", backupCount=7, encoding="utf-8", delay=True)
    except OSError as exc:
        msg = f"cannot write logs to {str(log_dir)!r}: {exc.strerror or exc}"
        raise ConfigError(msg, hint="set `log_dir` in kwaak.toml to a writable directory") from exc
    handler.setFormatter(RedactingFormatter(secrets))
    install_session_records()
    root = logging.getLogger()
    reset_logging()
    root.addHandler(handler)
    root.setLevel(default)
    for name, level in per_logger.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(True)
    return path


def current_log_file() -> Path | None:
    """The file the kwaak handler writes to, if logging was set up."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, KwaakFileHandler):
            return Path(handler.baseFilename)
    return None


def log_file_hint() -> str:
    """A hint pointing at the actual log file (for internal errors)."""
    path = current_log_file()
    return f"see the log file {path}" if path is not None else "run again with KWAAK_LOG=debug to log the details"


def fallback_log_dir() -> Path:
    """Where logs go before a project's config is known (``<user cache dir>/kwaak/logs``)."""
    return Path(platformdirs.user_cache_dir("kwaak")) / "logs"


def ensure_log_file() -> Path:
    """The current log file, setting up the fallback log (``kwaak.log``) if there is none."""
    current = current_log_file()
    if current is not None:
        return current
    return setup_logging(fallback_log_dir(), "kwaak", spec="error")


def reset_logging() -> None:
    """Remove and close kwaak's file handlers (tests and re-configuration)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, KwaakFileHandler):
            root.removeHandler(handler)
            handler.close()
