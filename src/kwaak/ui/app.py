"""The Textual application: a team of agents in one screen.

The app renders backend events and posts operations; it holds no agent logic. The backend is
built by ``connect`` after the first frame (importing the engine takes longer than drawing), and
ops sent before it is ready are queued by the :class:`~kwaak.ui.bridge.Bridge`.
Events arrive in batches (at most one per frame) and are applied inside one ``batch_update``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import ContentSwitcher

from kwaak import __version__
from kwaak import protocol as p
from kwaak.ui import commands
from kwaak.ui.bridge import Bridge, Connect, EventBatch, open_connection
from kwaak.ui.chat_log import ChatLog, retry_text
from kwaak.ui.chrome import ChatList, ChatStrip, HeaderBar, HelpPanel, Mode, StatusBar
from kwaak.ui.composer import ChatInput, CommandMenu, Composer
from kwaak.ui.deck import ChatDeck
from kwaak.ui.dialogs import ConfirmQuit
from kwaak.ui.forks import ForkGroups
from kwaak.ui.keys import KeyActions
from kwaak.ui.logs import LogsView, UILogHandler
from kwaak.ui.review import ReviewScreen
from kwaak.ui.session_control import SessionControl
from kwaak.ui.signals import Notifications
from kwaak.ui.splash import SplashScreen
from kwaak.ui.state import ChatState, counts_as_unread

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 5.0
SUBTITLE = "^s send · / commands · esc stop"
_CHAT_ACTIONS = frozenset(
    {"send", "stop_agent", "interrupt", "new_chat", "next_chat", "scroll_chat", "mode", "toggle_tool", "select_tool"}
)


class KwaakApp(KeyActions):
    """kwaak's terminal UI."""

    CSS_PATH = "app.tcss"
    TITLE = "kwaak"
    ENABLE_COMMAND_PALETTE = False
    AUTO_FOCUS = "#chat-input"
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("ctrl+x", "stop_agent", "Stop agent", priority=True),
        Binding("escape", "interrupt", "Interrupt"),
        Binding("ctrl+c", "ctrl_c", "Interrupt", priority=True),
        Binding("ctrl+n", "new_chat", "New chat", priority=True),
        Binding("tab", "next_chat", "Next chat", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", priority=True),
        Binding("ctrl+o", "toggle_tool", "Tool output", priority=True),
        Binding("alt+up", "select_tool(-1)", "Previous tool call", priority=True),
        Binding("alt+down", "select_tool(1)", "Next tool call", priority=True),
        Binding("f1", "mode('chats')", "Chats", priority=True),
        Binding("f2", "mode('logs')", "Logs", priority=True),
        Binding("pageup", "scroll_chat(-1)", "Scroll up", priority=True),
        Binding("pagedown", "scroll_chat(1)", "Scroll down", priority=True),
    ]

    def __init__(
        self,
        connect: Connect,
        *,
        initial_message: str | None = None,
        skip_indexing: bool = False,
        hide_header: bool = False,
        version: str = __version__,
        new_session_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        max_entries: int = 200,
        log_handler: UILogHandler | None = None,
        bell: bool = False,
        notifications: Notifications = "off",
        environ: dict[str, str] | None = None,
        settle_gc: bool = False,
    ) -> None:
        """Create the app.

        Args:
            connect: Builds the backend after the first frame: a coroutine function is awaited, a
                plain function runs in a thread. It may return a :class:`Connection` to restore chats.
            initial_message: Sent to the first chat's agent at start-up (``kwaak demo``).
            skip_indexing: Skip the start-up indexing and its splash screen (``-s``).
            hide_header: ``ui.hide_header``.
            version: Shown in the header and on the splash screen.
            new_session_id: Makes the session id of each new chat.
            max_entries: Transcript widgets kept mounted per chat.
            log_handler: The handler feeding the Logs tab (installed on the root logger while the app
                runs; pass one installed earlier to show records from before the app started).
            bell: ``ui.bell``: ring the terminal bell when a chat finishes, fails or waits for approval.
            notifications: ``ui.notifications``: also send a desktop notification (OSC 9 or 777).
            environ: The environment to detect the terminal from (clipboard, tmux); ``os.environ``.
            settle_gc: Tune the garbage collector once the backend is up (:mod:`kwaak.ui.gc_tuning`;
                process-wide, so only for the app the CLI runs, not for apps made in tests).
        """
        super().__init__()
        self._connect = connect
        self._settle_gc = settle_gc
        self.initial_message = initial_message
        self.skip_indexing = skip_indexing
        self.hide_header = hide_header
        self.version = version
        self._new_session_id = new_session_id
        self.max_entries = max_entries
        self.log_handler = log_handler or UILogHandler()
        self.bridge = Bridge(self.post_message)
        self.deck: ChatDeck | None = None
        self.frame = 0
        self.team_usage = p.UsageInfo()
        self.booting = False
        self.forks = ForkGroups()
        """Chats forked with /fork (best-of-N) and their groups."""
        self.batches_applied = 0
        """How many event batches were rendered (tests and benchmarks)."""
        self.events_applied = 0
        self._quitting = False
        self.stored = SessionControl(self)
        """Reopened tabs, the ``/sessions`` picker."""
        self.bell_on_attention = bell
        self.notifications: Notifications = notifications
        self.environ = dict(os.environ) if environ is None else environ
        self.sidebar_choice: bool | None = None
        """The user's ctrl-b choice (``None``: by terminal width)."""
        self.signals_sent: list[str] = []
        """Bells and notification escapes written to the terminal (tests)."""

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, the Chats and Logs modes, and the status bar."""
        header = HeaderBar(self.version, id="header")
        header.display = not self.hide_header
        yield header
        with ContentSwitcher(initial="chats-mode", id="modes"):
            with Horizontal(id="chats-mode"):
                with Vertical(id="main"):
                    yield ChatStrip(id="chat-strip")
                    yield ContentSwitcher(id="chat-logs")
                    yield Composer(id="composer")
                with Vertical(id="sidebar"):
                    yield ChatList(id="chat-list")
                    yield HelpPanel(id="help")
            yield LogsView(self.log_handler, id="logs-mode")
        yield StatusBar(id="status")

    def on_mount(self) -> None:
        """Open the first chat, start connecting, and show the splash unless skipped."""
        logging.getLogger().addHandler(self.log_handler)
        self.input.border_subtitle = SUBTITLE
        self.deck = ChatDeck(
            self.query_one("#chat-logs", ContentSwitcher),
            new_session_id=self._new_session_id,
            max_entries=self.max_entries,
        )
        self.deck.add()
        self.current_log.add_system(commands.WELCOME)
        self._refresh_chrome()
        if not self.skip_indexing:
            self.booting = True
            self.push_screen(SplashScreen(self.version))
            self.bridge.submit(p.SYSTEM_SESSION, p.IndexRepository())
        if self.initial_message:
            self.send(self.initial_message)
        self._layout(self.size.width, self.size.height)
        self.set_interval(0.1, self._tick)
        # Build the backend after the first frame is on screen (importing the engine takes longer).
        self.call_after_refresh(self.run_worker, self._attach_backend(), name="connect", exit_on_error=False)

    async def on_unmount(self) -> None:
        """However the app ends: close the backend (if still open) and remove the log handler."""
        await self._close_backend()
        logging.getLogger().removeHandler(self.log_handler)

    async def _attach_backend(self) -> None:
        try:
            connection = await open_connection(self._connect)
        except Exception as exc:
            log.exception("could not start the backend")
            self._close_splash()
            hint = getattr(exc, "hint", None)
            self.current_log.add_system(f"Could not start kwaak's backend: {exc}", level="error", hint=hint)
            return
        if self.bridge.closed:  # the user quit while it was starting
            await connection.backend.aclose()
            return
        self.stored.restore_at_start(connection)
        self._refresh_chrome()
        self.bridge.attach(connection.backend)
        if self._settle_gc:
            from kwaak.ui import gc_tuning

            gc_tuning.settle()

    # -- accessors ------------------------------------------------------------------------

    @property
    def input(self) -> ChatInput:
        """The input box."""
        return self.query_one(ChatInput)

    @property
    def _deck(self) -> ChatDeck:
        assert self.deck is not None, "the app is not mounted"
        return self.deck

    @property
    def chats(self) -> list[ChatState]:
        """The chats in tab order."""
        return self._deck.chats

    @property
    def current(self) -> int:
        """The index of the chat on screen."""
        return self._deck.current

    @property
    def current_chat(self) -> ChatState:
        """The selected chat."""
        return self._deck.current_chat

    @property
    def current_log(self) -> ChatLog:
        """The selected chat's transcript."""
        return self._deck.log(self.current_chat.session_id)

    def chat_log(self, session_id: p.SessionId) -> ChatLog:
        """The transcript of a chat."""
        return self._deck.log(session_id)

    def _select(self, index: int) -> None:
        self._deck.select(index).attention = None  # seen
        self._refresh_chrome()

    # -- events from the backend ----------------------------------------------------------

    def on_event_batch(self, message: EventBatch) -> None:
        """Apply a batch of backend events, then repaint the chrome once."""
        with self.batch_update():
            for event in message.events:
                self._apply(event)
            self._refresh_chrome()
            if isinstance(self.screen, ConfirmQuit):
                self.screen.update_working([chat.name for chat in self.chats if chat.busy])
        self.batches_applied += 1
        self.events_applied += len(message.events)

    def _apply(self, event: p.Event) -> None:
        msg = event.msg
        if isinstance(msg, p.UsageUpdated):
            self.team_usage = msg.team
        if event.session_id == p.SYSTEM_SESSION:
            self._apply_system(msg)
            return
        chat = self._deck.find(event.session_id)
        if chat is None:  # a session opened from /sessions, or a deleted chat's late events
            self.stored.on_event_without_chat(event)
            return
        attention = chat.observe(msg)
        self._deck.show(chat.session_id, msg)
        if isinstance(msg, p.ReviewShown) and chat is self.current_chat:
            self.push_screen(ReviewScreen(msg, submit=lambda op: self._submit(chat, op)))
        if chat is not self.current_chat and counts_as_unread(msg):
            chat.unread += 1
        if attention is not None:
            self._call_attention(chat, attention)

    def _apply_system(self, msg: p.EventMsg) -> None:
        screen = self.screen
        match msg:
            case p.IndexProgress(done=done, total=total, message=text) if isinstance(screen, SplashScreen):
                screen.progress(done, total, text)
            case p.Activity(text=text) if isinstance(screen, SplashScreen):
                screen.activity(text)
            case p.ProviderRetry() if isinstance(screen, SplashScreen):
                screen.activity(f"{retry_text(msg)} (esc: continue without waiting)")
            case p.ProviderRetry():
                self.current_log.add_system(retry_text(msg), level="warning")
            case p.CommandCompleted(command="index_repository", ok=ok, error=error, hint=hint) if self.booting:
                self._close_splash()
                if not ok:
                    self.current_log.add_system(
                        f"Indexing the repository failed: {error}. Agents still work, without the code index.",
                        level="error",
                        hint=hint,
                    )
            case p.SystemMessage(text=text, level=level, hint=hint):
                self.current_log.add_system(text, level=level, hint=hint)
            case p.SessionsListed():
                self.stored.listed(msg)
            case _:
                pass

    def on_splash_screen_skip(self, _: SplashScreen.Skip) -> None:
        """Esc on the splash: chat now; the index keeps building (agents search what is ready)."""
        self._close_splash()
        self.current_log.add_system("Indexing continues in the background; code search gets better as it finishes.")

    def _close_splash(self) -> None:
        if self.booting:
            self.booting = False
            if isinstance(self.screen, SplashScreen):
                self.pop_screen()
            self.input.focus()

    # -- chrome ---------------------------------------------------------------------------

    def _tick(self) -> None:
        if any(chat.busy for chat in self.chats) and self.animation_level != "none":
            self.frame += 1
            self._refresh_chrome()

    def _refresh_chrome(self) -> None:
        chat = self.current_chat
        try:
            chat_list = self.query_one(ChatList)
        except NoMatches:  # events still arriving while the app closes: nothing left to paint
            return
        chat_list.show(self.chats, self.current, self.frame)
        self.query_one(ChatStrip).show(self.chats, self.current, self.frame)
        self.query_one(StatusBar).show(chat, self.team_usage)
        self.input.border_title = chat.throbber(self.frame) if chat.busy else None

    # -- input ----------------------------------------------------------------------------

    def on_chat_input_submitted(self, message: ChatInput.Submitted) -> None:
        """Send a message to the current agent, or run a slash command."""
        self.send(message.text, shown=message.shown)

    def on_chat_input_interrupt(self, _: ChatInput.Interrupt) -> None:
        """Esc in the input box (with no completion menu open)."""
        self.action_interrupt()

    def on_chat_input_scroll_chat(self, message: ChatInput.ScrollChat) -> None:
        """↑/↓ with an empty input scroll the transcript (which stops following until End)."""
        self.current_log.scroll_relative(y=message.lines, animate=False)

    def on_chat_input_scroll_to_end(self, _: ChatInput.ScrollToEnd) -> None:
        """End in an empty input box."""
        self.current_log.scroll_to_latest()

    def on_chat_list_selected(self, message: ChatList.Selected) -> None:
        """A chat was clicked."""
        self._select(message.index)
        self.input.focus()

    def on_header_bar_tab_clicked(self, message: HeaderBar.TabClicked) -> None:
        """A tab was clicked."""
        self.action_mode(message.mode)

    def send(self, text: str, *, shown: str | None = None) -> None:
        """Handle what the user typed (a chat message or ``/command``); ``shown`` collapses pastes."""
        chat, chat_log = self.current_chat, self.current_log
        chat.has_messages = True
        chat_log.scroll_to_latest()
        if not text.startswith("/"):
            chat_log.show_user_message_as(text, shown or text)
            start_from, chat.start_from = chat.start_from, None  # only the first message starts the branch
            self._submit(chat, p.Chat(message=text, start_from=start_from))
            return
        parsed = commands.parse(text)
        if parsed is None:
            message, hint = commands.unknown_command_message(text)
            chat_log.add_system(message, level="warning", hint=hint)
            if not self.input.text:  # keep what was typed, to fix it
                self.input.text = shown or text
                self.input.move_cursor(self.input.document.end)
            return
        chat_log.add_command(parsed.label)
        if parsed.op is not None:
            self._submit(chat, parsed.op)
        if parsed.local is not None:
            self._run_local(parsed.local, parsed.args)

    def _submit(self, chat: ChatState, op: p.Op) -> None:
        chat.pending += 1
        self.bridge.submit(chat.session_id, op)
        self._refresh_chrome()

    def _run_local(self, action: commands.LocalAction, args: tuple[str, ...] = ()) -> None:
        chat_log = self.current_log
        match action:
            case "fork" | "compare":
                self._best_of(action, args)
            case "help":
                chat_log.add_system(commands.help_text(), markdown=True)
            case "quit":
                self.request_quit()
            case "copy":
                self._copy_last()
            case "new_chat":
                self.action_new_chat()
                if args:
                    self.current_chat.start_from = commands.START_FROM[args[0]]
                    where = {"head": "your HEAD", "main": "the main branch", "origin": "a freshly fetched origin"}
                    self.current_log.add_system(f"This agent will start from {where[args[0]]}.")
            case "next_chat":
                self.action_next_chat()
            case "delete_chat":
                self.forks.forget(self.current_chat.session_id)
                if not self._deck.remove_current():
                    self.current_log.add_system("Nice, you managed to delete the last chat!")
                self._refresh_chrome()
            case "sessions":
                self.stored.open_picker()

    def _best_of(self, action: commands.LocalAction, args: tuple[str, ...]) -> None:
        origin, origin_log = self.current_chat, self.current_log
        if action == "compare":
            op = self.forks.compare_op(origin.session_id)
            if op is None:
                origin_log.add_system("This chat was not forked", level="warning", hint="run /fork N first")
            else:
                self._submit(origin, op)
            return
        try:
            line = self.forks.fork(origin, args, new_chat=self._deck.add, submit=self._submit)
        except ValueError as exc:
            origin_log.add_system(str(exc).capitalize(), level="warning", hint="send the agent a task first")
            return
        self._select(self.chats.index(origin))
        origin_log.add_system(line)

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Tab completes a slash command while the menu is open; chat keys wait for the splash and the review."""
        if action == "next_chat" and self.query_one(CommandMenu).display:
            return False
        return not ((self.booting or isinstance(self.screen, ReviewScreen)) and action in _CHAT_ACTIONS)

    def action_send(self) -> None:
        """Send the input (ctrl-s)."""
        # Queued behind keys the input has not processed yet (priority bindings jump the queue).
        self.input.call_later(self.input.action_submit)

    def action_stop_agent(self) -> None:
        """Stop the current agent (ctrl-x, /stop)."""
        self._submit(self.current_chat, p.StopAgent())

    def action_new_chat(self) -> None:
        """Open a chat with a new agent (ctrl-n)."""
        self._deck.add()
        self._refresh_chrome()
        self.input.focus()

    def action_next_chat(self) -> None:
        """Switch to the next chat (tab)."""
        self._select(self.current + 1)

    def action_mode(self, mode: Mode) -> None:
        """Show the Chats (F1) or Logs (F2) tab."""
        self.query_one("#modes", ContentSwitcher).current = f"{mode}-mode"
        self.query_one(HeaderBar).mode = mode
        if mode == "chats":
            self.input.focus()
        else:
            self.query_one(LogsView).focus()

    def action_scroll_chat(self, direction: int) -> None:
        """PageUp/PageDown in the transcript or the log (stops following until End)."""
        modes = self.query_one("#modes", ContentSwitcher)
        target = self.query_one(LogsView).log_view if modes.current == "logs-mode" else self.current_log
        if direction < 0:
            target.scroll_page_up(animate=False)
        else:
            target.scroll_page_down(animate=False)

    def request_quit(self) -> None:
        """Start the clean shutdown (at most :data:`SHUTDOWN_SECONDS`), then exit with 0."""
        if self._quitting:
            return
        self._quitting = True
        self.notify("Stopping agents and cleaning up ...", timeout=SHUTDOWN_SECONDS)
        self.run_worker(self._quit_cleanly(), name="shutdown", exit_on_error=False)

    async def _quit_cleanly(self) -> None:
        await self._close_backend()
        self.exit(0)

    async def _close_backend(self) -> None:
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                await self.bridge.aclose()
        except TimeoutError:
            log.warning("the backend did not shut down within %s seconds", SHUTDOWN_SECONDS)
        except Exception:
            log.exception("error while shutting down the backend")
