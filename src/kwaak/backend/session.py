"""One agent session: its workspace, executor, tools, history, usage and status.

A session starts lazily on its first message. Start-up runs its independent parts concurrently
(title, branch name, worktree, initial index context), then starts the executor and tools. Each
turn runs as its own task, so sessions run in parallel and a stop cancels the turn at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Literal

from kwaak import protocol as p
from kwaak import telemetry
from kwaak.agent.budget import Meter, MeteredModel, Scope, remaining_wall_time, reserve_request, wall_time_exceeded
from kwaak.agent.compaction import Compactor, ContextUsage
from kwaak.agent.loop import AgentLoop, AgentState, LoopSettings, TurnOutcome
from kwaak.agent.prompts import clean_title, read_instructions, render, system_prompt
from kwaak.backend.approvals import Approvals
from kwaak.backend.hooks import CodingHooks
from kwaak.backend.listener import EventListener
from kwaak.backend.modelctx import check_tool_calling, context_info, describe_models, model_for, new_compactor
from kwaak.backend.persistence import SessionStore, session_meta
from kwaak.backend.planact import delegate_tool, new_planner, planner_registry
from kwaak.backend.resume import commit_work_in_progress
from kwaak.backend.runtime import Runtime, usage_info
from kwaak.backend.tooling import build_tools
from kwaak.backend.workspace_env import WorkspaceExecutor
from kwaak.backend.workspace_setup import WorkspacePreparer
from kwaak.config.model import Budget, StartFrom, ToolExecutor
from kwaak.errors import BudgetExceeded, KwaakError, SessionError
from kwaak.executors.base import ExecResult, Executor
from kwaak.git.reword import CommitMessages
from kwaak.git.workspace import (
    AgentWorkspace,
    branch_name,
    create_workspace,
    remove_workspace,
    rename_branch,
    resolve_start_ref,
    restore_workspace,
)
from kwaak.llm.base import Model
from kwaak.llm.pricing import cost_usd, price_for
from kwaak.messages import AssistantMessage, Message, SystemMessage, Usage, UserMessage
from kwaak.tools.base import ToolContext, ToolRegistry, WorkspaceInfo

log = logging.getLogger(__name__)
OVERVIEW_CMD = "find . -maxdepth 2 -not -path './.git' -not -path './.git/*' | sort | head -n 400"


TOOL_CHECK_GRACE_SEC = 1.0
"""How long closing waits for a running tool-calling check (then it is cancelled)."""


@dataclass(eq=False)
class Session:
    """An agent and everything it owns."""

    id: p.SessionId
    runtime: Runtime
    title: str | None = None
    status: p.SessionStatus = "idle"
    status_reason: str | None = None
    state: AgentState = field(default_factory=AgentState)
    meter: Meter = field(default_factory=Meter)
    workspace: AgentWorkspace | None = None
    executor: WorkspaceExecutor | None = None
    registry: ToolRegistry | None = None
    ctx: ToolContext | None = None
    turn: asyncio.Task[TurnOutcome] | None = None
    command: asyncio.Task[ExecResult] | None = None
    """A user's ``/exec`` command while it runs (stopped like a turn)."""
    starting: asyncio.Task[None] | None = None
    """The start-up in progress (worktree, ``[workspace] setup``...): a stop cancels it too."""
    naming: asyncio.Task[None] | None = None
    """Names the chat and its branch while the first turn already runs (awaited at the turn's end)."""
    tool_check: asyncio.Task[None] | None = None
    """The one-off tool-calling check of a self-hosted model, running beside the first turn."""
    warming: asyncio.Task[None] | None = None
    """Opening the connection to the agent's model (TCP, TLS) while the worktree is made."""
    store: SessionStore | None = None
    created_at: float | None = None
    budget: Budget | None = None
    """This agent's budget; ``None`` uses ``limits.agent`` from the config."""
    executor_kind: ToolExecutor | None = None
    """This agent's executor; ``None`` uses ``tool_executor`` from the config."""
    start_from: StartFrom | None = None
    """Where this agent's branch starts; ``None`` uses ``[workspace] start_from``."""
    pull_request_url: str | None = None
    planner: AgentState | None = None
    """The PlanAct planner's conversation (``agent = "PlanAct"``)."""
    planner_tools: ToolRegistry | None = None
    active_agent: Literal["coding", "planner"] = "coding"
    turn_heads: list[str] = field(default_factory=list)
    """The branch's commit before each turn (for undo), oldest first."""
    landed: str | None = None
    """``<base>@<commit>`` once the branch was landed."""
    origin: str = ""
    """The front end that created the session (``tui``, ``run-agent``, ``batch``)."""
    tab: bool = False
    """Shown as a chat tab in the TUI (reopened as one after a restart)."""
    reported: set[str] = field(default_factory=set)
    """Hook problems (lint, commit, push) already shown in this chat."""
    branch_dropped: bool = False
    """The branch had no commits and was removed when the session ended; resuming re-creates it."""
    model_name: str | None = None
    """This chat's model (``/model``, ``--model``); ``None`` uses the configured query model."""
    context: ContextUsage | None = None
    """The context meter: tokens of the next request and the model's window."""
    approvals: Approvals = field(init=False)
    """The command policy guard and the commands waiting for the user's answer."""
    commit_messages: CommitMessages = field(default_factory=CommitMessages)
    """Commit messages being generated in the background (the branch is reworded when they arrive)."""
    _resources: AsyncExitStack = field(default_factory=AsyncExitStack)
    _start_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.approvals = Approvals(
            policy=self.runtime.config.policy,
            interactive=self.runtime.interactive,
            emit=self.emit,
            set_status=self.set_status,
            get_status=lambda: self.status,
        )

    # -- events -----------------------------------------------------------------------------

    def emit(self, msg: p.EventMsg) -> None:
        """Send an event for this session."""
        self.runtime.emit(self.id, msg)

    def set_status(self, status: p.SessionStatus, reason: str | None = None) -> None:
        """Change and announce the status."""
        self.status = status
        self.status_reason = reason
        self.emit(p.StatusChanged(status=status, reason=reason))
        self.persist()

    def persist(self) -> None:
        """Write new history and the metadata to the session store (if persistence is on)."""
        if self.store is None:
            return
        self.store.sync_history(self.state.history)
        if self.planner is not None:
            self.store.sync_history(self.planner.history, stream="planner")
        self.store.save_meta(session_meta(self))

    def summary(self) -> p.SessionSummary:
        """Where this agent stands, as a protocol event."""
        ws = self.workspace
        return p.SessionSummary(
            title=self.title,
            status=self.status,
            reason=self.status_reason,
            branch=ws.branch if ws else None,
            worktree=str(ws.path) if ws is not None and self.started else None,
            start_ref=ws.start_ref if ws else None,
            pull_request_url=self.pull_request_url,
            usage=usage_info(self.meter),
            wall_seconds=round(self.meter.wall_seconds, 2),
        )

    def count_usage(self, usage: Usage) -> None:
        """Add usage to this agent and the team, and announce the totals."""
        self.meter.add(usage)
        self.runtime.team.add(usage)
        self._announce_usage()

    def _announce_usage(self) -> None:
        self.emit(
            p.UsageUpdated(
                session=usage_info(self.meter),
                team=usage_info(self.runtime.team),
                context=context_info(self.context, self.model),
            )
        )

    def _context_measured(self, usage: ContextUsage) -> None:
        self.context = usage
        self._announce_usage()

    @property
    def model(self) -> Model:
        """The model this chat's agents talk to."""
        return model_for(self.runtime, self.model_name)

    def switch_model(self, name: str | None) -> None:
        """``/model``: list the models (no name) or use ``name`` for the next requests."""
        if not name:
            self.emit(p.SystemMessage(text=describe_models(self.runtime, self.model)))
            return
        model = model_for(self.runtime, name)
        self.model_name = None if model is self.runtime.models.query else name
        self.emit(p.SystemMessage(text=f"This chat now uses {model.label}."))
        self.persist()

    async def compact(self) -> None:
        """``/compact``: summarize the older part of the conversation now."""
        if self.running:
            msg = "the agent is working; the conversation can be compacted when it pauses"
            raise SessionError(msg, hint="wait for it or stop it (/stop), then /compact")
        if not self.started:
            msg = "there is no conversation to compact yet"
            raise SessionError(msg, hint="send the agent a message first")
        state = self.active_state
        await self._compactor(state).compact(state.history, state.goal, reason="manual")
        self.persist()

    def _compactor(self, state: AgentState, hooks: CodingHooks | None = None) -> Compactor:
        registry = self.planner_tools if state is self.planner and self.planner_tools is not None else self.registry
        assert registry is not None
        return new_compactor(
            self.model,
            specs=registry.specs,
            tools=lambda: list(registry),
            diff=hooks.diff if hooks is not None else None,
            on_usage=self.count_usage,
            emit=self.emit,
            on_context=self._context_measured,
        )

    @property
    def started(self) -> bool:
        """Whether the workspace, executor and tools exist."""
        return self.registry is not None

    @property
    def running(self) -> bool:
        """Whether a turn is in progress."""
        return self.turn is not None and not self.turn.done()

    # -- start-up ---------------------------------------------------------------------------

    async def ensure_started(self, first_message: str) -> None:
        """Start the session on its first message (idempotent)."""
        async with self._start_lock:
            if self.started:
                return
            resuming = self.workspace is not None
            self.set_status("starting")
            if resuming:
                self.emit(p.Activity(text="resuming the agent"))
            else:
                self.emit(p.Activity(text="starting up agent for the first time, this might take a while"))
            self.starting = asyncio.create_task(
                self._resume() if resuming else self._start(first_message), name=f"start-{self.id[:8]}"
            )
            try:
                await self.starting
            except BaseException as exc:
                if not self.starting.done():  # our own caller was cancelled (shutdown): end the start too
                    self.starting.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self.starting
                # Never leave ``starting`` behind: the start failed or was stopped.
                stopped = isinstance(exc, asyncio.CancelledError)
                with contextlib.suppress(KwaakError, OSError):
                    reason = "stopped while starting" if stopped else f"the agent could not start: {exc}"
                    self.set_status("stopped" if stopped else "failed", reason)
                await self.aclose(delete_workspace=not resuming)
                raise

    async def _start(self, first_message: str) -> None:
        rt = self.runtime
        # The first request then finds an open connection: no TCP/TLS handshake before it.
        self.warming = asyncio.create_task(self.model.warm_up(), name=f"warm-up-{self.id[:8]}")
        provisional = branch_name("agent", self.id)
        # The chat and branch names come from the small model; they never delay the first turn.
        names = asyncio.gather(
            self._ask(render("title", query=first_message)), self._ask(render("branch", query=first_message))
        )
        # So does the one-off tool-calling check of a self-hosted model: a whole model round trip.
        self.tool_check = asyncio.create_task(self._check_tools(), name=f"tool-check-{self.id[:8]}")
        try:
            workspace, rag = await asyncio.gather(self._create_workspace(provisional), self._rag_context(first_message))
        except BaseException:
            names.cancel()
            raise
        self.workspace = workspace
        self.title = first_message[:60]
        self.naming = asyncio.create_task(self._name(names, first_message), name=f"naming-{self.id[:8]}")
        self.executor = await self._start_executor(self.workspace)
        setup_note = await self._prepare_workspace(fresh=True)
        self._announce_agent()
        has_index = rt.index is not None
        self.registry = await build_tools(
            rt.config, resources=self._resources, warn=self._warn, cwd=self.workspace.path, has_index=has_index
        )
        self.ctx = self._tool_context(self.workspace, self.executor)
        await self._prime_history(rag)
        if setup_note:
            self.state.history.append(UserMessage(content=setup_note))
        self._setup_planner()

    async def _check_tools(self) -> None:
        warning = await check_tool_calling(self.runtime, self.model, self.count_usage)
        if warning:
            self._warn(warning)

    async def _name(self, names: asyncio.Future[tuple[str, str]], first_message: str) -> None:
        """Title the chat and rename its branch once the small model answered (commits wait meanwhile)."""
        title, branch = await names
        self.title = clean_title(title) or first_message[:60]
        self.emit(p.SessionRenamed(title=self.title))
        assert self.workspace is not None
        async with self.commit_messages.lock:  # never between a commit's read of HEAD and its update-ref
            self.workspace = await rename_branch(self.workspace, branch_name(branch or "agent", self.id))
        if self.ctx is not None and self.ctx.workspace is not None:
            self.ctx.workspace = replace(self.ctx.workspace, branch=self.workspace.branch)
        self.emit(p.BranchRenamed(branch=self.workspace.branch))
        self.persist()

    async def _named(self) -> None:
        """Wait for the chat and branch names (a failed rename leaves the provisional branch)."""
        if self.naming is None:
            return
        try:
            await asyncio.shield(self.naming)
        except KwaakError as exc:
            self._warn(f"Could not rename the agent's branch: {exc.message}")
        self.naming = None

    async def _create_workspace(self, branch: str) -> AgentWorkspace:
        rt = self.runtime
        config = rt.config
        start_from = self.start_from or config.start_from
        start_ref = await resolve_start_ref(
            rt.repo_root, start_from, main_branch=config.main_branch, remote=config.git.remote
        )
        return await create_workspace(
            rt.repo_root, worktrees_dir=rt.worktrees_dir, branch=branch, session_id=self.id, start_ref=start_ref
        )

    async def _prepare_workspace(self, *, fresh: bool) -> str | None:
        """``[workspace]`` copy, setup, Python environment and the health check (see ``workspace_setup``)."""
        assert self.executor is not None and self.workspace is not None
        preparer = WorkspacePreparer(
            config=self.runtime.config,
            repo_root=self.runtime.repo_root,
            worktree=self.workspace.path,
            executor=self.executor,
            emit=self.emit,
        )
        return await preparer.prepare(fresh=fresh)

    async def _resume(self) -> None:
        assert self.workspace is not None
        fresh = not (self.workspace.path / ".git").exists()
        self.workspace = await restore_workspace(
            self.workspace, session_id=self.id, recreate_missing=self.branch_dropped
        )
        self.branch_dropped = False
        self.executor = await self._start_executor(self.workspace)
        setup_note = await self._prepare_workspace(fresh=fresh)
        if setup_note:
            self.state.history.append(UserMessage(content=setup_note))
        self._announce_agent()
        self.registry = await build_tools(
            self.runtime.config,
            resources=self._resources,
            warn=self._warn,
            cwd=self.workspace.path,
            has_index=self.runtime.index is not None,
        )
        self.ctx = self._tool_context(self.workspace, self.executor)
        self._setup_planner()

    def _setup_planner(self) -> None:
        """For ``agent = "PlanAct"``: a planner with read-only tools that starts the conversation."""
        if self.runtime.config.agent != "PlanAct" or self.registry is None or self.workspace is None:
            return
        self.planner_tools = planner_registry(self.registry, delegate_tool(self._delegate))
        if self.planner is None:
            self.planner = new_planner(self.runtime.config, self.workspace.path, self.state.history)
            if not any(isinstance(m, AssistantMessage) for m in self.state.history):
                self.active_agent = "planner"

    async def _delegate(self, task: str) -> str:
        """The planner hands the task to the coding agent, which works until it stops."""
        self.active_agent = "coding"
        self.emit(p.SystemMessage(text=f"The planner delegated the task to the coding agent:\n\n{task}"))
        self.state.goal = self.state.goal or task
        self.state.history.append(UserMessage(content=task))
        self.persist()
        return await self._loop(self.state).run(self.state)

    @property
    def query_model(self) -> Model:
        """The model this agent works with, metered: every request counts against its budget."""
        return MeteredModel(self.model, self.count_usage)

    @property
    def indexing_model(self) -> Model:
        """The small model (titles, commit messages, summaries), metered like :attr:`query_model`."""
        return MeteredModel(self.runtime.models.indexing, self.count_usage)

    async def _ask(self, prompt: str) -> str:
        try:
            response = await self.indexing_model.complete_prompt(prompt)
        except KwaakError as exc:
            log.warning("naming prompt failed: %s", exc)
            return ""
        return response.message.content or ""

    async def _rag_context(self, question: str) -> str | None:
        index = self.runtime.index
        if index is None:
            return None
        from kwaak.index import initial_context

        self.emit(p.Activity(text="gathering context from the code index"))
        try:
            return await initial_context(question, index=index, model=self.query_model, config=self.runtime.config)
        except KwaakError as exc:
            self._warn(f"Could not build the initial context from the index: {exc.message}")
            return None

    async def _start_executor(self, workspace: AgentWorkspace) -> WorkspaceExecutor:
        from kwaak.executors.factory import start_executor

        config = self.runtime.config
        if self.executor_kind is not None:
            config = config.model_copy(update={"tool_executor": self.executor_kind})
        executor = await start_executor(
            config,
            workspace.path,
            session_id=self.id,
            repo_root=self.runtime.repo_root,
            on_warning=self._warn,
        )
        self._resources.push_async_callback(executor.aclose)
        return WorkspaceExecutor(executor)

    def _announce_agent(self) -> None:
        self.emit(
            p.AgentInfo(model=self.runtime.models.query.name, executor=self.executor.kind if self.executor else None)
        )

    def _warn(self, text: str) -> None:
        self.emit(p.SystemMessage(text=text, level="warning"))

    def _tool_context(self, workspace: AgentWorkspace, executor: Executor) -> ToolContext:
        rt = self.runtime
        services: dict[str, object] = {
            **rt.extras,
            "activity": lambda text: self.emit(p.Activity(text=text)),
            "command_guard": self.approvals.guard,
        }
        if rt.index is not None:
            services["explain"] = self._explain
        return ToolContext(
            session_id=self.id,
            config=rt.config,
            executor=executor,
            workspace=WorkspaceInfo(path=workspace.path, branch=workspace.branch, start_ref=workspace.start_ref),
            indexing_model=self.indexing_model,
            query_model=self.query_model,
            services=services,
        )

    def answer_approval(self, call_id: str | None, *, approved: bool) -> bool:
        """Resolve a pending command approval; False when none is pending."""
        return self.approvals.answer(call_id, approved=approved)

    async def _explain(self, query: str) -> str:
        from kwaak.index import answer_question

        assert self.runtime.index is not None and self.workspace is not None
        return await answer_question(
            query,
            index=self.runtime.index,
            model=self.query_model,
            config=self.runtime.config,
            overlay=self.workspace.path,
        )

    async def _prime_history(self, rag: str | None) -> None:
        assert self.executor is not None and self.workspace is not None
        config = self.runtime.config
        history = self.state.history
        history.append(
            SystemMessage(content=system_prompt(config, instructions=read_instructions(self.workspace.path)))
        )
        if rag:
            history.append(UserMessage(content=rag))
        overview = await self.executor.exec(OVERVIEW_CMD, timeout=30)
        if overview.ok and overview.output.strip():
            history.append(UserMessage(content=render("initial_overview", overview=overview.output.strip())))

    # -- turns ------------------------------------------------------------------------------

    async def chat(self, message: str) -> TurnOutcome:
        """Add a user message and run the agent until it stops or pauses."""
        if self.running:
            msg = "the agent is still working"
            raise SessionError(msg, hint="wait for it, stop it with ctrl-x (/stop), or use another chat")
        await self.ensure_started(message)
        state = self.active_state
        state.goal = state.goal or message
        state.history.append(UserMessage(content=message))
        self.emit(p.UserMessage(text=message))
        self.persist()
        return await self._run_turn()

    @property
    def active_state(self) -> AgentState:
        """The conversation of the agent that receives the user's messages."""
        if self.active_agent == "planner" and self.planner is not None:
            return self.planner
        return self.state

    async def retry(self) -> TurnOutcome:
        """Redrive the last completion (drop its reply and tool results, ask again)."""
        if not self.started:
            msg = "No agent found (yet), is it starting up?"
            raise SessionError(msg, hint="send a message first")
        if self.running:
            msg = "the agent is still working"
            raise SessionError(msg, hint="stop it first with ctrl-x (/stop)")
        self.active_state.rewind_last_completion()
        return await self._run_turn()

    async def _run_turn(self) -> TurnOutcome:
        from kwaak.backend.landing import record_turn_head

        await record_turn_head(self)
        self.turn = asyncio.create_task(self._turn_body(), name=f"turn-{self.id[:8]}")
        return await self.turn

    async def _turn_body(self) -> TurnOutcome:
        async with contextlib.AsyncExitStack() as stack:
            if self.runtime.slots.locked():
                self.emit(p.Activity(text="waiting for a free agent slot"))
            await stack.enter_async_context(self.runtime.slots)
            self.set_status("running")
            self.meter.start_turn()
            self.runtime.team.start_turn()
            stack.callback(self.meter.end_turn)
            stack.callback(self.runtime.team.end_turn)
            try:
                with telemetry.span(
                    "agent.turn", session_id=self.id, branch=self.workspace.branch if self.workspace else None
                ):
                    state = self.active_state
                    outcome = await self._run_within_wall_time(state)
            except asyncio.CancelledError:
                self.set_status("stopped", "stopped by the user")
                raise
            except BudgetExceeded as exc:
                self.set_status("budget_exhausted", exc.message)
                raise
            except KwaakError as exc:
                self.set_status("failed", exc.message)
                raise
            except Exception as exc:
                self.set_status("failed", f"internal error: {exc}")
                raise
            self.set_status("done" if outcome == "stopped" else "idle")
            return outcome

    def _loop(self, state: AgentState) -> AgentLoop:
        assert self.registry is not None and self.ctx is not None and self.workspace is not None
        assert self.executor is not None
        rt, config = self.runtime, self.runtime.config
        planning = state is self.planner
        registry = self.planner_tools if planning and self.planner_tools is not None else self.registry
        hooks = CodingHooks(
            config=config,
            workspace=self.workspace,
            executor=self.executor,
            registry=registry,
            indexing_model=rt.models.indexing,
            query_model=self.model,
            emit=self.emit,
            on_usage=self.count_usage,
            on_step=self.persist,
            commits_enabled=not planning,
            reported=self.reported,
            messages=self.commit_messages,
        )
        pause = not config.endless_mode if planning else config.stop_on_empty_messages and not config.endless_mode
        return AgentLoop(
            model=self.model,
            context=self._compactor(state, hooks),
            registry=registry,
            ctx=self.ctx,
            hooks=hooks,
            listener=EventListener(emit=self.emit, registry=registry, on_usage=self.count_usage),
            settings=LoopSettings(stop_on_assistant=pause),
            reserve_step=self._reserve_step,
        )

    def budget_scopes(self) -> list[Scope]:
        """This agent's meter and budget, and the team's."""
        limits = self.runtime.config.limits
        return [(self.meter, self.budget or limits.agent, "agent"), (self.runtime.team, limits.team, "team")]

    def _reserve_step(self, history: Sequence[Message]) -> Callable[[], None]:
        tokens = self.model.counter.count(history)  # cached per message: cheap on every step
        price = price_for(self.model.name, self.runtime.config.prices)
        cost = cost_usd(price, input_tokens=tokens, output_tokens=0)
        return reserve_request(self.budget_scopes(), tokens=tokens, cost=cost)

    async def _run_within_wall_time(self, state: AgentState) -> TurnOutcome:
        """Run the loop; the wall-time limit cancels whatever runs (a tool call included)."""
        scopes = self.budget_scopes()
        left = remaining_wall_time(scopes)
        if left is not None and left <= 0:
            raise wall_time_exceeded(scopes)
        deadline = asyncio.timeout(left)
        try:
            async with deadline:
                try:
                    outcome = await self._loop(state).run(state)
                except Exception:
                    await self._named()  # a failed turn still ends with the chat and branch named
                    raise
                await self._named()
                await self.commit_messages.drain()  # the turn ends with the generated messages
                return outcome
        except TimeoutError:
            if deadline.expired():
                raise wall_time_exceeded(scopes) from None
            raise

    async def run_command(self, cmd: str) -> ExecResult:
        """Run a user's command in the workspace as a task that :meth:`stop` cancels (``/exec``)."""
        assert self.executor is not None
        if self.command is not None and not self.command.done():
            msg = "a command is still running"
            raise SessionError(msg, hint="wait for it, or stop it with esc (/stop)")
        timeout = self.runtime.config.limits.tool_timeout_sec
        self.command = asyncio.create_task(self.executor.exec(cmd, timeout=timeout), name=f"exec-{self.id[:8]}")
        return await self.command

    async def stop(self, *, timeout: float = 5.0) -> bool:
        """Cancel the running turn and ``/exec`` command; returns False when nothing was running."""
        running = [task for task in (self.turn, self.command, self.starting) if task is not None and not task.done()]
        if not running:
            return False
        for task in running:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*map(asyncio.shield, running), return_exceptions=True), timeout)
        return True

    async def aclose(self, *, delete_workspace: bool = False) -> None:
        """Stop the turn, close tools and the executor, save the session, and remove the worktree.

        Uncommitted work is committed to the agent's branch first, so removing the worktree loses
        nothing; a resumed session recreates the worktree from its branch.
        """
        was_started = self.started
        was_running = await self.stop()
        self.commit_messages.cancel()  # pending commits keep their provisional message
        if self.naming is not None:  # stopped before the names arrived: the provisional branch stays
            self.naming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.naming
            self.naming = None
        if self.warming is not None:
            self.warming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.warming
            self.warming = None
        if self.tool_check is not None:  # a tiny request: its warning still reaches the chat
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.tool_check, TOOL_CHECK_GRACE_SEC)
            self.tool_check = None
        await self._resources.aclose()
        self._resources = AsyncExitStack()
        self.registry = self.ctx = self.executor = None
        if was_running:
            self.set_status("interrupted", "kwaak stopped while the agent was working")
        self.persist()
        if delete_workspace and self.workspace is not None and not self.runtime.config.workspace.keep_worktrees:
            await commit_work_in_progress(self.workspace, self.runtime.config)
            self.branch_dropped = await remove_workspace(self.workspace, drop_unused_branch=True)
            self.persist()
        if was_started:
            self.emit(self.summary())
