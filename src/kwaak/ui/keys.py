"""The app's keys and signals: interrupt, quit confirmation, sidebar, tool output, attention, /copy.

:class:`KeyActions` is a base class of :class:`~kwaak.ui.app.KwaakApp`; it only uses the members
declared at its top (the chats, the input, stopping and quitting), which the app defines.
"""

from __future__ import annotations

from abc import abstractmethod

from textual.app import App
from textual.events import Resize

from kwaak.ui.chat_log import ChatLog
from kwaak.ui.composer import ChatInput
from kwaak.ui.dialogs import ConfirmQuit
from kwaak.ui.signals import Notifications, clipboard_support, notification
from kwaak.ui.state import Attention, ChatState

SIDEBAR_MIN_WIDTH = 100
"""Below this terminal width the sidebar collapses to a one-line chat strip (ctrl-b toggles)."""
SHORT_HEIGHT = 30
"""Below this terminal height the input box is smaller."""
_ATTENTION_WORDS: dict[Attention, str] = {
    "finished": "finished",
    "failed": "failed",
    "approval": "waits for your approval",
}


class KeyActions(App[int]):
    """Key actions and terminal signals of the kwaak app."""

    bell_on_attention: bool = False
    notifications: Notifications = "off"
    environ: dict[str, str]
    sidebar_choice: bool | None = None
    """The user's ctrl-b choice (``None``: by terminal width)."""
    signals_sent: list[str]
    """Bells and notification escapes written to the terminal (tests)."""
    _quitting: bool = False

    @property
    @abstractmethod
    def chats(self) -> list[ChatState]:
        """The chats in tab order."""

    @property
    @abstractmethod
    def current_chat(self) -> ChatState:
        """The selected chat."""

    @property
    @abstractmethod
    def current_log(self) -> ChatLog:
        """The selected chat's transcript."""

    @property
    @abstractmethod
    def input(self) -> ChatInput:
        """The input box."""

    @abstractmethod
    def action_stop_agent(self) -> None:
        """Stop the current agent."""

    @abstractmethod
    def request_quit(self) -> None:
        """Start the clean shutdown."""

    # -- attention ------------------------------------------------------------------------

    def _call_attention(self, chat: ChatState, attention: Attention) -> None:
        """A chat finished, failed or waits for approval: badge, and bell/notification if configured."""
        words = f"{chat.name} {_ATTENTION_WORDS[attention]}"
        if chat is self.current_chat:
            chat.attention = None  # on screen already
        elif attention != "finished" or not self.screen.is_modal:
            self.notify(words, severity="error" if attention == "failed" else "information", timeout=4)
        if self.bell_on_attention:
            self._signal("\a")
        sequence = notification(self.notifications, "kwaak", words, env=self.environ)
        if sequence is not None:
            self._signal(sequence)

    def _signal(self, sequence: str) -> None:
        self.signals_sent.append(sequence)
        if not self.is_headless and self._driver is not None:
            self._driver.write(sequence)

    # -- layout ---------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        """Collapse the sidebar on narrow terminals and shrink the input on short ones."""
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int) -> None:
        shown = self.sidebar_choice if self.sidebar_choice is not None else width >= SIDEBAR_MIN_WIDTH
        self.set_class(not shown, "-sidebar-hidden")
        self.set_class(height < SHORT_HEIGHT, "-short")

    @property
    def sidebar_shown(self) -> bool:
        """Whether the chat list and help are on screen."""
        return not self.has_class("-sidebar-hidden")

    def action_toggle_sidebar(self) -> None:
        """Show or hide the sidebar (ctrl-b)."""
        self.sidebar_choice = not self.sidebar_shown
        self._layout(self.size.width, self.size.height)

    # -- /copy and keys --------------------------------------------------------------------

    def _copy_last(self) -> None:
        text = self.current_chat.last_text
        if not text:
            self.current_log.add_system("No message to copy")
            return
        self.copy_to_clipboard(text)
        if clipboard_support(self.environ):
            self.current_log.add_system("Copied the last message to the clipboard")
            return
        where = (
            "tmux passes it on only with `set -g set-clipboard on`"
            if self.environ.get("TMUX")
            else ("this terminal may not support clipboard writes (OSC 52)")
        )
        self.current_log.add_system(
            f"Sent the last message to the terminal's clipboard, but {where}. Here it is to select by hand "
            "(hold shift, or the terminal's selection modifier, while dragging):\n\n" + text
        )

    def action_interrupt(self) -> None:
        """Interrupt the current turn of the agent on screen (Esc); nothing when it is idle."""
        if self.current_chat.busy:
            self.current_log.add_system("Interrupting the agent ...", level="warning")
            self.action_stop_agent()

    def action_ctrl_c(self) -> None:
        """ctrl-c: copy a selection, clear the input, or (when empty) interrupt the agent."""
        box = self.input
        if box.selected_text:
            box.action_copy()
        elif box.text:
            box.clear()
        elif self.current_chat.busy:
            self.action_interrupt()
        else:
            self.notify("Nothing to interrupt. Quit with ctrl-q.", timeout=3)

    def action_toggle_tool(self) -> None:
        """Show or hide the output of the selected tool call, else the latest one (ctrl-o)."""
        entry = self.current_log.selected_tool or next(reversed(self.current_log.tool_entries), None)
        if entry is None:
            self.notify("No tool calls in this chat yet.", timeout=3)
            return
        self.current_log.select_tool(entry)
        entry.action_toggle_details()
        self.call_after_refresh(entry.scroll_visible, animate=False)

    def action_select_tool(self, step: int) -> None:
        """Select the previous (alt-↑) or next (alt-↓) tool call; ctrl-o then shows its output."""
        entry = self.current_log.step_tool_selection(step)
        if entry is not None:
            entry.scroll_visible(animate=False)

    async def action_quit(self) -> None:
        """Stop every agent, clean up their workspaces, and exit (ctrl-q); asks first if agents work."""
        working = [chat.name for chat in self.chats if chat.busy]
        if not working or self._quitting:
            self.request_quit()
            return
        if isinstance(self.screen, ConfirmQuit):
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.request_quit()

        self.push_screen(ConfirmQuit(working), answered)
