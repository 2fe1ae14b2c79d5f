"""Errors that reach the user.

Every error a user can act on is a :class:`KwaakError` with a ``message`` (what happened) and an
optional ``hint`` (what to do next). Third-party exceptions are translated where they enter our
code (``raise X(...) from exc``); anything that is not a ``KwaakError`` is a bug and is logged with
its traceback.

::

    KwaakError
      ConfigError              bad or missing configuration (exit code 2)
        SecretNotFound         an env:/file: secret could not be resolved
      UsageError               bad command-line use (exit code 2)
      NotAGitRepository, DirtyRepository
      SessionError
        SessionNotFound, SessionBusy, SessionInUse
      ProviderError            an LLM / embedding provider failed
        AuthError, RateLimited, ContextTooLong, Transient, Unreachable, BadRequest
      ExecutorError
        ExecutorUnavailable    the executor cannot start here (docker down, no bwrap, ...)
        ContainerStartFailed, ImageBuildFailed
      GitError, GitHubError
        MergeConflict          landing an agent's branch conflicts with its base
      IndexingError, IndexLocked
      McpError
      BudgetExceeded

Tool-level failures the *model* should see (``ToolError``) live in :mod:`kwaak.tools.base`;
they are deliberately not ``KwaakError`` subclasses.
"""

from __future__ import annotations

MAX_ERROR_CHARS = 4000
"""Error messages and hints are cut to this many characters (a hostile value must not flood stderr)."""


def bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` with its middle replaced by a marker when it is longer than ``limit``."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 3 // 4], text[-(limit // 4) :]
    return f"{head} … ({len(text) - len(head) - len(tail):,} characters omitted) … {tail}"


class KwaakError(Exception):
    """Base class of all user-facing kwaak errors."""

    kind: str = "error"
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message, hint = bounded(message), bounded(hint) if hint is not None else None
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """Return the message followed by the hint, ready to print."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class ConfigError(KwaakError):
    """The configuration is missing, malformed or inconsistent."""

    kind = "config"
    exit_code = 2


class SecretNotFound(ConfigError):
    """An ``env:`` or ``file:`` secret could not be resolved."""

    kind = "secret"


class UsageError(KwaakError):
    """The command line was used wrongly."""

    kind = "usage"
    exit_code = 2


class NotAGitRepository(KwaakError):
    """kwaak was started outside a git repository."""

    kind = "not_a_git_repository"
    exit_code = 2


class DirtyRepository(KwaakError):
    """Tracked files have uncommitted changes."""

    kind = "dirty_repository"
    exit_code = 2


class SessionError(KwaakError):
    """Something is wrong with an agent session."""

    kind = "session"


class SessionNotFound(SessionError):
    """No session exists for the given id."""

    kind = "session_not_found"


class SessionBusy(SessionError):
    """The session is already running a turn."""

    kind = "session_busy"


class SessionInUse(SessionError):
    """Another live kwaak process owns the session (holds its lock)."""

    kind = "session_in_use"

    def __init__(self, message: str, *, pid: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.pid = pid


class ProviderError(KwaakError):
    """An LLM or embedding provider failed."""

    kind = "provider"
    retryable: bool = False
    endpoint: str | None = None
    """The endpoint as configured (``base_url``) or the provider's name; set where SDK errors are mapped."""


class AuthError(ProviderError):
    """The provider rejected the credentials."""

    kind = "auth"


class RateLimited(ProviderError):
    """The provider asked us to slow down (HTTP 429)."""

    kind = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, hint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class ContextTooLong(ProviderError):
    """The request did not fit in the model's context window.

    ``window`` and ``prompt_tokens`` are the numbers the provider named in its error, when it did.
    """

    kind = "context_too_long"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        window: int | None = None,
        prompt_tokens: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.window = window
        self.prompt_tokens = prompt_tokens


class Transient(ProviderError):
    """A temporary provider failure (5xx, connection reset, timeout, truncated stream)."""

    kind = "transient"
    retryable = True


class Unreachable(ProviderError):
    """A configured endpoint cannot be reached at all (refused, unknown host, TLS failure): not retried."""

    kind = "unreachable"


class BadRequest(ProviderError):
    """The provider refused the request as malformed."""

    kind = "bad_request"


class ExecutorError(KwaakError):
    """The executor (docker, sandbox, local) failed."""

    kind = "executor"


class ExecutorUnavailable(ExecutorError):
    """The configured executor cannot start on this machine."""

    kind = "executor_unavailable"


class ContainerStartFailed(ExecutorError):
    """The docker container could not be started."""

    kind = "container_start_failed"


class ImageBuildFailed(ExecutorError):
    """The docker image could not be built."""

    kind = "image_build_failed"


class GitError(KwaakError):
    """A git command failed."""

    kind = "git"

    def __init__(self, message: str, *, hint: str | None = None, cmd: str = "", stderr: str = "") -> None:
        super().__init__(message, hint=hint)
        self.cmd = cmd
        self.stderr = stderr


class MergeConflict(GitError):
    """Landing an agent's branch on its base conflicts; ``files`` lists the conflicted paths."""

    kind = "merge_conflict"

    def __init__(self, message: str, *, hint: str | None = None, files: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.files = files


class GitHubError(KwaakError):
    """The GitHub API failed or GitHub is not configured."""

    kind = "github"


class IndexingError(KwaakError):
    """Indexing or querying the code index failed."""

    kind = "indexing"


class IndexLocked(IndexingError):
    """Another kwaak process holds the index."""

    kind = "index_locked"


class McpError(KwaakError):
    """An MCP server failed to start or answer."""

    kind = "mcp"


class BudgetExceeded(KwaakError):
    """A budget (steps, tokens, cost, wall time) was reached."""

    kind = "budget_exhausted"
    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None, limit: str = "") -> None:
        super().__init__(message, hint=hint)
        self.limit = limit
