"""The contract between front ends (TUI, headless CLI) and the backend.

Front ends send :data:`Op` values scoped to a session id with ``Backend.submit``; the backend
answers with :class:`Event` envelopes carrying an :data:`EventMsg`. Every submitted op ends with
exactly one :class:`CommandCompleted` (ok or failed). Payloads are frozen dataclasses with a
``kind`` discriminator so they can be matched exhaustively and serialized to JSON lines.

This is the only module that both ``kwaak.ui`` and ``kwaak.backend`` import.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Literal

SessionId = str
SubmissionId = str

# ----------------------------------------------------------------------------------------------
# Operations (front end → backend)
# ----------------------------------------------------------------------------------------------


ExecutorKind = Literal["docker", "sandbox", "local"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentBudget:
    """Limits of one agent (``None``: the configured ``[limits.agent]`` value)."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_wall_time_sec: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Chat:
    """Send a user message; starts the session on first use (kwaak's ``Chat``).

    ``budget``, ``executor`` and ``model`` set this agent's options (headless runs set them on the
    first message): a budget replaces the configured per-agent limits field by field, an executor
    replaces ``tool_executor`` (only before the agent started), a model replaces the query model's
    name (same provider table).
    """

    message: str
    budget: AgentBudget | None = None
    executor: ExecutorKind | None = None
    model: str | None = None
    start_from: Literal["head", "main", "origin"] | None = None
    """Where a new agent's branch starts (``[workspace] start_from``); refused once its branch exists."""
    kind: Literal["chat"] = "chat"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryChat:
    """Redrive the last completion (kwaak's ``RetryChat``)."""

    kind: Literal["retry_chat"] = "retry_chat"


@dataclass(frozen=True, slots=True, kw_only=True)
class StopAgent:
    """Cancel the running turn now; the session stays usable."""

    kind: Literal["stop_agent"] = "stop_agent"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowDiff:
    """Show the agent's changes since its start ref (kwaak's ``Diff``)."""

    kind: Literal["diff"] = "diff"


@dataclass(frozen=True, slots=True, kw_only=True)
class PullDiff:
    """Bring the agent's work into the user's checkout as one commit on a same-named branch."""

    kind: Literal["diff_pull"] = "diff_pull"


@dataclass(frozen=True, slots=True, kw_only=True)
class Exec:
    """Run a shell command in the session's executor (kwaak's ``Exec``)."""

    cmd: str
    kind: Literal["exec"] = "exec"


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexRepository:
    """(Re)index the repository incrementally."""

    kind: Literal["index_repository"] = "index_repository"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowConfig:
    """Show the effective configuration with secrets masked."""

    kind: Literal["show_config"] = "show_config"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteSession:
    """Stop the session, close its executor and remove its worktree (unless kept by config)."""

    kind: Literal["delete_session"] = "delete_session"


@dataclass(frozen=True, slots=True, kw_only=True)
class GithubFix:
    """Fetch GitHub issue ``number`` with its comments and hand it to the agent."""

    number: int
    kind: Literal["github_fix"] = "github_fix"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatePullRequest:
    """Push the agent's branch and create or update its pull request."""

    kind: Literal["create_pull_request"] = "create_pull_request"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApproveCommand:
    """Answer a pending :class:`ApprovalRequested`."""

    call_id: str
    approved: bool
    kind: Literal["approve_command"] = "approve_command"


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Report usage and budgets of this session and the team."""

    kind: Literal["stats"] = "stats"


@dataclass(frozen=True, slots=True, kw_only=True)
class ListSessions:
    """List this repository's stored sessions (answered with :class:`SessionsListed`)."""

    kind: Literal["list_sessions"] = "list_sessions"


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenSession:
    """Open the stored session (the op's session id) here: take ownership and show it as a chat.

    Answered with :class:`SessionOpened`; fails when another live process owns the session.
    """

    replay: bool = True
    """Include the recorded events (a TUI rebuilds the chat from them; headless runs do not need them)."""
    kind: Literal["open_session"] = "open_session"


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactContext:
    """Summarize the older part of the conversation now (``/compact``); refused while the agent works."""

    kind: Literal["compact"] = "compact"


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchModel:
    """Use model ``name`` for this chat's next requests (``/model NAME``); no name lists the models."""

    name: str | None = None
    kind: Literal["switch_model"] = "switch_model"


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    """Cancel everything, close executors, and stop the backend."""

    kind: Literal["quit"] = "quit"


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """Show what the agent's branch would bring to ``base``: files, hunks and commits."""

    base: str | None = None
    """The branch to compare with (``git.main_branch`` when ``None``)."""
    kind: Literal["review"] = "review"


LandMode = Literal["merge", "squash", "rebase"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Land:
    """Land the agent's branch on ``base`` as a merge commit, one squashed commit, or rebased commits."""

    mode: LandMode
    base: str | None = None
    """The branch to land on (``git.main_branch`` when ``None``)."""
    kind: Literal["land"] = "land"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveConflict:
    """Merge ``base`` into the agent's branch with conflict markers and ask the agent to resolve them."""

    base: str | None = None
    kind: Literal["resolve_conflict"] = "resolve_conflict"


@dataclass(frozen=True, slots=True, kw_only=True)
class Undo:
    """Reset the agent's branch to before its last turn, or to ``commit`` (one of its branch's commits)."""

    commit: str | None = None
    kind: Literal["undo"] = "undo"


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    """Compare agents that worked on one task (best-of-N): tests, diff size, cost, time.

    Runs ``commands.test`` in each agent's workspace when ``run_tests`` (and a test command is
    configured); answers with one :class:`ComparisonShown`. The session id it is submitted for
    only scopes the events.
    """

    sessions: tuple[SessionId, ...]
    base: str | None = None
    run_tests: bool = True
    kind: Literal["compare"] = "compare"


Op = (
    Chat
    | RetryChat
    | StopAgent
    | ShowDiff
    | PullDiff
    | Exec
    | IndexRepository
    | ShowConfig
    | DeleteSession
    | GithubFix
    | CreatePullRequest
    | ApproveCommand
    | Stats
    | ListSessions
    | OpenSession
    | CompactContext
    | SwitchModel
    | Quit
    | Review
    | Land
    | ResolveConflict
    | Undo
    | Compare
)

# ----------------------------------------------------------------------------------------------
# Events (backend → front end)
# ----------------------------------------------------------------------------------------------

SessionStatus = Literal[
    "starting",  # workspace and executor being prepared
    "running",  # a turn is in progress
    "awaiting_approval",  # a command waits for the user's yes or no
    "idle",  # waiting for the user
    "done",  # the agent called stop
    "failed",  # the last turn ended with an error
    "stopped",  # the user stopped it
    "budget_exhausted",
    "interrupted",  # kwaak exited mid-turn; continue or retry
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRenamed:
    """The chat got a title (≤ 60 chars)."""

    title: str
    kind: Literal["session_renamed"] = "session_renamed"


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchRenamed:
    """The agent's branch is known."""

    branch: str
    kind: Literal["branch_renamed"] = "branch_renamed"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChanged:
    """The session's state changed; ``reason`` explains failures, stops and budgets."""

    status: SessionStatus
    reason: str | None = None
    kind: Literal["status_changed"] = "status_changed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    """A short status line ("running completions", "running tool shell_command", ...)."""

    text: str
    kind: Literal["activity"] = "activity"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantDelta:
    """A streamed fragment of the assistant message ``message_id``."""

    message_id: str
    text: str
    kind: Literal["assistant_delta"] = "assistant_delta"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallInfo:
    """A tool call as shown to the user."""

    call_id: str
    name: str
    arguments: str
    summary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantMessage:
    """A complete assistant message (text and the tool calls it made)."""

    message_id: str
    text: str | None
    tool_calls: tuple[ToolCallInfo, ...] = ()
    kind: Literal["assistant_message"] = "assistant_message"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserMessage:
    """A user message as recorded by the backend (echo for headless front ends and restore)."""

    text: str
    kind: Literal["user_message"] = "user_message"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallStarted:
    """A tool began running."""

    call_id: str
    name: str
    summary: str
    kind: Literal["tool_call_started"] = "tool_call_started"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallFinished:
    """A tool finished; ``preview`` is the start of its output.

    ``ok`` is False when the tool itself failed; a command that ran and exited non-zero is ``ok``
    with a non-zero ``exit_code`` (front ends show both as failures: see :attr:`failed`).
    """

    call_id: str
    name: str
    ok: bool
    preview: str
    output: str = ""
    exit_code: int | None = None
    """The exit code of the command the tool ran (non-zero is shown as a failure)."""
    outcome: str | None = None
    """A short outcome, e.g. ``3 passed, 1 failed`` from a test runner, or ``timed out``."""
    kind: Literal["tool_call_finished"] = "tool_call_finished"

    @property
    def failed(self) -> bool:
        """The tool failed or its command exited non-zero."""
        return not self.ok or bool(self.exit_code)


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemMessage:
    """A backend message for the chat (config, diff, "Agent stopped", warnings)."""

    text: str
    level: Literal["info", "warning", "error"] = "info"
    hint: str | None = None
    kind: Literal["system_message"] = "system_message"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffShown:
    """The agent's diff (plain unified diff text; the front end colors it)."""

    diff: str
    kind: Literal["diff_shown"] = "diff_shown"


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageInfo:
    """Token and cost counts."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    steps: int = 0
    estimated: bool = False
    """Some counts are estimates (a server reported no usage)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextInfo:
    """How full the model's context window is: tokens of the next request and the window."""

    used_tokens: int
    window_tokens: int | None = None
    model: str | None = None

    @property
    def percent(self) -> float | None:
        """``used_tokens`` as a percentage of the window, when known."""
        return 100.0 * self.used_tokens / self.window_tokens if self.window_tokens else None


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageUpdated:
    """Usage of this session and of the whole team, and the session's context meter."""

    session: UsageInfo
    team: UsageInfo
    context: ContextInfo | None = None
    kind: Literal["usage_updated"] = "usage_updated"


@dataclass(frozen=True, slots=True, kw_only=True)
class Committed:
    """The after-completion hook committed (and maybe pushed) the agent's changes."""

    sha: str
    message: str
    pushed: bool = False
    replaces: str | None = None
    """Set when the generated message arrived: the provisional commit this reworded one replaces."""
    kind: Literal["committed"] = "committed"


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexProgress:
    """Indexing progress (files or chunks)."""

    done: int
    total: int
    message: str
    phase: Literal["", "scanning", "chunking", "qa", "embedding", "done"] = ""
    """What ``done``/``total`` count: files (``scanning``, ``chunking``), chunks (``qa``, ``embedding``)."""
    kind: Literal["index_progress"] = "index_progress"


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexUpdated:
    """An index update finished (``IndexRepository``): what it did and what failed."""

    files_total: int
    chunks_total: int
    files_indexed: int
    files_removed: int
    embedded: int
    vectors_reused: int
    pending_embeddings: int
    lexical_ready_sec: float
    total_sec: float
    errors: tuple[str, ...] = ()
    """Files that could not be indexed and embedding failures (the first 100)."""
    error_count: int = 0
    kind: Literal["index_updated"] = "index_updated"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequested:
    """A command needs the user's approval (command policy)."""

    call_id: str
    command: str
    reason: str
    kind: Literal["approval_requested"] = "approval_requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewFile:
    """One changed file of a review: added and removed lines (``-1`` for binary files)."""

    path: str
    added: int
    removed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewCommit:
    """One commit of the agent's branch."""

    sha: str
    subject: str
    body: str = ""
    author: str = ""
    timestamp: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewShown:
    """The agent's branch against ``base``: changed files, commits (newest first) and the unified diff."""

    branch: str
    base: str
    ahead: int
    behind: int
    files: tuple[ReviewFile, ...]
    commits: tuple[ReviewCommit, ...]
    diff: str
    truncated: bool = False
    kind: Literal["review_shown"] = "review_shown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Landed:
    """The agent's branch was landed on ``base``."""

    branch: str
    base: str
    mode: LandMode
    old_base: str
    new_base: str
    commits: int
    checkout_updated: bool
    kind: Literal["landed"] = "landed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSummary:
    """Where an agent stands: after every chat, retry or GitHub fix, when restored and when closed."""

    title: str | None
    status: SessionStatus
    reason: str | None = None
    """Why it failed, stopped or ran out of budget."""
    branch: str | None = None
    worktree: str | None = None
    """The agent's worktree while it exists (``None`` once removed)."""
    start_ref: str | None = None
    pull_request_url: str | None = None
    usage: UsageInfo = field(default_factory=UsageInfo)
    wall_seconds: float = 0.0
    kind: Literal["session_summary"] = "session_summary"


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoredSession:
    """A saved session brought back by ``Backend.start`` (its summary and its recorded events)."""

    session_id: SessionId
    summary: SessionSummary
    events: tuple[Event, ...] = ()


TestsOutcome = Literal["passed", "failed", "not run"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonRow:
    """One agent of a comparison."""

    session_id: SessionId
    title: str | None
    branch: str | None
    model: str
    status: str
    tests: TestsOutcome
    files: int
    added: int
    removed: int
    cost_usd: float
    seconds: float
    landed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonShown:
    """Agents side by side (``Compare``), in the order asked."""

    base: str
    rows: tuple[ComparisonRow, ...]
    kind: Literal["comparison_shown"] = "comparison_shown"

    def table(self) -> str:
        """A plain-text table, one agent per line."""
        head = f"{'#':<2} {'session':<8}  {'model':<16} {'status':<12} {'tests':<8} {'files':>5} {'+/-':>11} "
        head += f"{'cost':>9} {'time':>7}  branch"
        lines = [head]
        for n, r in enumerate(self.rows, 1):
            lines.append(
                f"{n:<2} {r.session_id[:8]:<8}  {r.model[:16]:<16} {r.status[:12]:<12} {r.tests:<8} {r.files:>5} "
                f"{f'+{r.added}/-{r.removed}':>11} {f'${r.cost_usd:.4f}':>9} {f'{r.seconds:.1f}s':>7}  "
                f"{r.branch or '-'}{' (landed)' if r.landed else ''}"
            )
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandStarted:
    """A slash command began (recorded so a restored chat shows its ``» label`` echo again)."""

    command: str
    label: str
    kind: Literal["command_started"] = "command_started"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderRetry:
    """A model or embedding request failed and is retried after ``wait_seconds``."""

    endpoint: str
    """The endpoint as configured (``base_url``) or the provider's name."""
    reason: str
    """``rate limited`` or the error."""
    wait_seconds: float
    attempt: int
    """1-based number of the coming retry."""
    max_attempts: int
    kind: Literal["provider_retry"] = "provider_retry"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentInfo:
    """What runs this session's agent (sent when it starts)."""

    model: str
    executor: str | None = None
    kind: Literal["agent_info"] = "agent_info"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandCompleted:
    """Every op ends with exactly one of these."""

    command: str
    ok: bool
    seconds: float
    error: str | None = None
    error_kind: str | None = None
    hint: str | None = None
    kind: Literal["command_completed"] = "command_completed"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSession:
    """One stored session of this repository, as listed by :class:`SessionsListed`."""

    session_id: SessionId
    title: str | None
    origin: str
    """``tui``, ``run-agent``, ``batch`` or ``-`` (unknown)."""
    status: str
    """A :data:`SessionStatus`, or ``damaged`` when its metadata cannot be read."""
    branch: str | None
    updated_at: float
    tokens: int = 0
    cost_usd: float = 0.0
    owner_pid: int | None = None
    """Set when another live kwaak process owns the session (it is read-only here)."""
    problem: str | None = None
    """What is damaged (names the file) and what to do."""
    open_here: bool = False
    """This process has it open (a chat tab in the TUI)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionsListed:
    """The answer to :class:`ListSessions`, oldest first."""

    sessions: tuple[StoredSession, ...]
    kind: Literal["sessions_listed"] = "sessions_listed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOpened:
    """A stored session is now open here; ``events`` are its recorded events for rebuilding its view."""

    title: str | None
    status: SessionStatus
    branch: str | None
    usage: UsageInfo
    team: UsageInfo
    events: tuple[Event, ...] = ()
    kind: Literal["session_opened"] = "session_opened"


EventMsg = (
    SessionRenamed
    | BranchRenamed
    | StatusChanged
    | Activity
    | AssistantDelta
    | AssistantMessage
    | UserMessage
    | ToolCallStarted
    | ToolCallFinished
    | SystemMessage
    | DiffShown
    | UsageUpdated
    | Committed
    | IndexProgress
    | IndexUpdated
    | ApprovalRequested
    | ReviewShown
    | Landed
    | ComparisonShown
    | SessionSummary
    | CommandStarted
    | ProviderRetry
    | AgentInfo
    | CommandCompleted
    | SessionsListed
    | SessionOpened
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """An event for one session (``session_id`` may be ``"system"`` for app-wide events)."""

    session_id: SessionId
    msg: EventMsg
    submission_id: SubmissionId | None = None
    timestamp: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """A flat JSON object: ``type``, ``session_id``, ``timestamp`` and the payload fields."""
        payload = dataclasses.asdict(self.msg)
        kind = payload.pop("kind")
        return {
            "type": kind,
            "version": JSONL_VERSION,
            "session_id": self.session_id,
            "submission_id": self.submission_id,
            "timestamp": round(self.timestamp, 3),
            **payload,
        }


SYSTEM_SESSION: SessionId = "system"

# ----------------------------------------------------------------------------------------------
# Headless records (JSON lines written by run-agent, batch, sessions resume, demo and evals)
# ----------------------------------------------------------------------------------------------

JSONL_VERSION = 1
"""Version of the JSON lines format (every line carries it as ``version``); see docs/jsonl.md."""

ExitStatus = Literal[SessionStatus, "timeout", "not_started"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentFinished:
    """How one headless agent ended (``session_finished``; ``task_finished`` for a batch task)."""

    session_id: SessionId
    status: ExitStatus
    exit_code: int
    seconds: float
    name: str | None = None
    title: str | None = None
    reason: str | None = None
    error: str | None = None
    error_kind: str | None = None
    branch: str | None = None
    pull_request: str | None = None
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    node: str | None = None
    """``kwaak batch --cluster``: the Ray node that ran the task (``ip/node id``)."""
    kind: Literal["session_finished", "task_finished"] = "session_finished"

    @property
    def ok(self) -> bool:
        """Success: exit code 0."""
        return self.exit_code == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchFinished:
    """The end of ``kwaak batch``: every task's result and the overlaps between their branches."""

    exit_code: int
    seconds: float
    results: tuple[AgentFinished, ...] = ()
    overlaps: tuple[str, ...] = ()
    kind: Literal["batch_finished"] = "batch_finished"


Record = AgentFinished | BatchFinished


def record_to_json(record: Record) -> dict[str, Any]:
    """A headless record as a flat JSON object (``type``, ``version``, ``timestamp`` first)."""
    payload = dataclasses.asdict(record)
    kind = payload.pop("kind")
    if isinstance(record, BatchFinished):
        payload["results"] = [{"type": r.kind, **_without_kind(r)} for r in record.results]
    return {"type": kind, "version": JSONL_VERSION, "timestamp": round(time.time(), 3), **payload}


def _without_kind(record: AgentFinished) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data.pop("kind")
    return data


_EVENT_TYPES: dict[str, type[Any]] = {
    str(cls.__dataclass_fields__["kind"].default): cls
    for cls in (
        SessionRenamed,
        BranchRenamed,
        StatusChanged,
        Activity,
        AssistantDelta,
        AssistantMessage,
        UserMessage,
        ToolCallStarted,
        ToolCallFinished,
        SystemMessage,
        DiffShown,
        UsageUpdated,
        Committed,
        IndexProgress,
        IndexUpdated,
        ApprovalRequested,
        ReviewShown,
        Landed,
        ComparisonShown,
        SessionSummary,
        CommandStarted,
        ProviderRetry,
        AgentInfo,
        CommandCompleted,
        SessionsListed,
        SessionOpened,
    )
}


JSONL_RECORD_TYPES: dict[str, type[Any]] = {
    **_EVENT_TYPES,
    "session_finished": AgentFinished,
    "task_finished": AgentFinished,
    "batch_finished": BatchFinished,
}
"""Every ``type`` a kwaak JSON line can have (events, then headless records); docs/jsonl.md lists them."""


_LABELS: dict[str, str] = {
    "retry_chat": "retry",
    "stop_agent": "stop",
    "diff": "diff show",
    "diff_pull": "diff pull",
    "index_repository": "index_repository",
    "show_config": "show_config",
    "delete_session": "delete_chat",
    "create_pull_request": "pr",
    "stats": "stats",
}


def op_label(op: Op) -> str | None:
    """The slash command a user types for ``op`` (its ``» label`` echo); ``None`` for messages and internal ops."""
    match op:
        case Exec(cmd=cmd):
            return f"exec {cmd}"
        case GithubFix(number=number):
            return f"github fix {number}"
        case ApproveCommand(approved=approved):
            return "approve" if approved else "deny"
        case Land(mode=mode, base=arg):
            return f"{mode} {arg}" if arg else mode
        case Review(base=arg) | ResolveConflict(base=arg) | Undo(commit=arg):
            name = {"review": "review", "resolve_conflict": "resolve", "undo": "undo"}[op.kind]
            return f"{name} {arg}" if arg else name
        case _:
            return _LABELS.get(op.kind)


def _decode_stored_sessions(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """Nested payloads of :class:`SessionsListed` and :class:`SessionOpened` (events as ``asdict`` wrote them)."""
    if cls is SessionsListed:
        return {"sessions": tuple(StoredSession(**s) for s in data.get("sessions", ()))}
    events: list[Event] = []
    for nested in data.get("events", ()):
        msg = dict(nested.get("msg", {}))
        flat = {**msg, "type": msg.get("kind"), **{k: v for k, v in nested.items() if k != "msg"}}
        event = event_from_json(flat)
        if event is not None:
            events.append(event)
    usage, team = data.get("usage", {}), data.get("team", {})
    return {**data, "usage": UsageInfo(**usage), "team": UsageInfo(**team), "events": tuple(events)}


def event_from_json(record: dict[str, Any]) -> Event | None:
    """Rebuild an :class:`Event` from :meth:`Event.to_json` output (``None`` for unknown types)."""
    data = dict(record)
    cls = _EVENT_TYPES.get(str(data.pop("type", "")))
    if cls is None:
        return None
    session_id = str(data.pop("session_id", SYSTEM_SESSION))
    submission_id = data.pop("submission_id", None)
    timestamp = float(data.pop("timestamp", 0.0))
    if cls is AssistantMessage:
        data["tool_calls"] = tuple(ToolCallInfo(**c) for c in data.get("tool_calls", ()))
    if cls is ComparisonShown:
        data["rows"] = tuple(ComparisonRow(**r) for r in data.get("rows", ()))
    if cls is ReviewShown:
        data["files"] = tuple(ReviewFile(**f) for f in data.get("files", ()))
        data["commits"] = tuple(ReviewCommit(**c) for c in data.get("commits", ()))
    if cls is UsageUpdated:
        data = {"session": UsageInfo(**data["session"]), "team": UsageInfo(**data["team"])}
    if cls is SessionSummary:
        data["usage"] = UsageInfo(**data.get("usage", {}))
    if cls is SessionsListed or cls is SessionOpened:
        data = _decode_stored_sessions(cls, data)
    fields = cls.__dataclass_fields__
    msg = cls(**{k: v for k, v in data.items() if k in fields and k != "kind"})
    return Event(session_id=session_id, msg=msg, submission_id=submission_id, timestamp=timestamp)
