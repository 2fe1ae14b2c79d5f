"""Slash commands: parsing, completion and the help text (pure; no widgets).

``parse`` turns what the user typed after ``/`` into a :class:`Parsed` command: either a backend
operation to submit for the current chat, a local action the app performs itself, or both
(``/delete_chat`` stops and removes the agent, then removes the chat). Unknown commands and
malformed arguments give ``None`` ("Unknown command").
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from kwaak import protocol as p
from kwaak.ui.state import LEGEND

LocalAction = Literal["help", "quit", "copy", "new_chat", "next_chat", "delete_chat", "sessions", "fork", "compare"]


@dataclass(frozen=True, slots=True)
class CommandDoc:
    """One slash command as listed in the help and the completion menu."""

    name: str
    """The command without its slash."""
    summary: str
    """One line describing it."""
    usage: tuple[str, ...] = ()
    """Extra usage lines for commands with arguments."""


COMMANDS: tuple[CommandDoc, ...] = (
    CommandDoc("help", "Shows this help message"),
    CommandDoc("approve", "Runs the command the agent is waiting on (command policy)"),
    CommandDoc("compact", "Summarizes the older part of the conversation now (frees context)"),
    CommandDoc("copy", "Copies the last message to the clipboard"),
    CommandDoc("delete_chat", "Deletes the current chat and stops its agent"),
    CommandDoc("deny", "Refuses the command the agent is waiting on (command policy)"),
    CommandDoc(
        "diff",
        "Shows or pulls the agent's changes",
        ("/diff show - Shows the diff in the chat", "/diff pull - Pulls the diff into a new branch"),
    ),
    CommandDoc("exec", "Runs a shell command in the agent's workspace", ("/exec CMD - e.g. /exec ls -la",)),
    CommandDoc(
        "github",
        "Works on GitHub issues (alias /gh)",
        ("/github fix [number] - Fetch, analyze, and fix a github issue",),
    ),
    CommandDoc("index_repository", "Indexes the repository (only changed files)"),
    CommandDoc(
        "model",
        "Lists the models, or switches this chat's model",
        ("/model - Lists the configured and known models", "/model NAME - e.g. /model gpt-4o"),
    ),
    CommandDoc(
        "new_chat",
        "Opens a new chat with a new agent",
        ("/new_chat origin - The agent starts from a freshly fetched origin/<main> (or: head, main)",),
    ),
    CommandDoc("next_chat", "Switches to the next chat"),
    CommandDoc("pr", "Pushes the agent's branch and creates or updates its pull request"),
    CommandDoc("quit", "Quits kwaak"),
    CommandDoc(
        "review",
        "Reviews the agent's branch file by file (n/p files, j/k hunks, c comment, m/s/r land)",
        ("/review [BASE] - against BASE (default: the main branch)",),
    ),
    CommandDoc("merge", "Lands the agent's branch on the base with a merge commit", ("/merge [BASE]",)),
    CommandDoc("squash", "Lands the agent's branch on the base as one commit", ("/squash [BASE]",)),
    CommandDoc("rebase", "Lands the agent's commits replayed on the base", ("/rebase [BASE]",)),
    CommandDoc(
        "fork",
        "Runs this chat's task on N more agents (best-of-N), optionally with other models",
        ("/fork N [MODEL,MODEL,...] - e.g. /fork 2 gpt-4o,o3", "/compare - Compares them when done"),
    ),
    CommandDoc("compare", "Compares the agents of a /fork: tests, diff size, cost, time"),
    CommandDoc("resolve", "Hands a landing conflict to the agent to resolve", ("/resolve [BASE]",)),
    CommandDoc(
        "undo", "Undoes the agent's last turn (or resets to a commit)", ("/undo [COMMIT] - a commit from /review",)
    ),
    CommandDoc("retry", "Retries the last completion"),
    CommandDoc("sessions", "Lists saved sessions"),
    CommandDoc("show_config", "Shows the configuration (secrets masked)"),
    CommandDoc("stats", "Shows tokens, cost and steps per agent and for the team"),
    CommandDoc("stop", "Stops the current agent"),
)
ALIASES = {"gh": "github"}
MAX_FORKS = 8
"""``/fork N`` starts at most this many agents."""

KEYBINDINGS: tuple[tuple[str, str], ...] = (
    ("^s", "Send message"),
    ("Esc", "Interrupt the agent"),
    ("^c", "Interrupt (empty input)"),
    ("Tab", "Next chat"),
    ("^n", "New chat"),
    ("^o", "Show/hide tool output"),
    ("Alt ↑/↓", "Select tool call"),
    ("Page Up/Down", "Scroll"),
    ("End", "Scroll to end"),
    ("^b", "Show/hide sidebar"),
    ("F1/F2", "Chats / Logs"),
    ("^q", "Quit"),
)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A recognized slash command."""

    label: str
    """What the chat shows after ``»`` (e.g. ``diff pull``)."""
    op: p.Op | None = None
    """The backend operation to submit for the current chat, if any."""
    local: LocalAction | None = None
    """What the app does itself, if anything."""
    args: tuple[str, ...] = ()
    """Arguments of a local action (``/fork N MODELS``)."""


_SIMPLE_OPS: dict[str, p.Op] = {
    "show_config": p.ShowConfig(),
    "index_repository": p.IndexRepository(),
    "retry": p.RetryChat(),
    "stop": p.StopAgent(),
    "stats": p.Stats(),
    "compact": p.CompactContext(),
    "pr": p.CreatePullRequest(),
    "approve": p.ApproveCommand(call_id="", approved=True),
    "deny": p.ApproveCommand(call_id="", approved=False),
}
_LOCAL: dict[str, LocalAction] = {
    "help": "help",
    "quit": "quit",
    "copy": "copy",
    "new_chat": "new_chat",
    "next_chat": "next_chat",
    "sessions": "sessions",
}


START_FROM: dict[str, Literal["head", "main", "origin"]] = {"head": "head", "main": "main", "origin": "origin"}
"""Where ``/new_chat <start>`` starts the new agent's branch (``[workspace] start_from``)."""


def parse(text: str) -> Parsed | None:
    """Parse an input starting with ``/``; ``None`` when the command is unknown or malformed."""
    body = text.strip().removeprefix("/")
    name, _, rest = body.partition(" ")
    name = ALIASES.get(name, name)
    args = rest.split()
    if name in _SIMPLE_OPS and not args:
        return Parsed(name, op=_SIMPLE_OPS[name])
    if name in _LOCAL and not args:
        return Parsed(name, local=_LOCAL[name])
    if name == "new_chat" and len(args) == 1 and args[0] in START_FROM:
        return Parsed(f"new_chat {args[0]}", local="new_chat", args=(args[0],))
    if name == "delete_chat" and not args:
        return Parsed(name, op=p.DeleteSession(), local="delete_chat")
    if name == "diff":
        return _parse_diff(args)
    if name == "exec" and rest.strip():
        return Parsed(f"exec {rest.strip()}", op=p.Exec(cmd=rest.strip()))
    if name == "github":
        return _parse_github(args)
    if name == "model" and len(args) <= 1:
        return Parsed(f"model {args[0]}" if args else "model", op=p.SwitchModel(name=args[0] if args else None))
    return _parse_landing(name, args)


def _parse_landing(name: str, args: list[str]) -> Parsed | None:
    if name == "fork" and 1 <= len(args) <= 2 and args[0].isdigit() and 1 <= int(args[0]) <= MAX_FORKS:
        return Parsed(" ".join(["fork", *args]), local="fork", args=tuple(args))
    if name == "compare" and not args:
        return Parsed("compare", local="compare")
    if len(args) > 1:
        return None
    arg = args[0] if args else None
    label = f"{name} {arg}" if arg else name
    match name:
        case "review":
            return Parsed(label, op=p.Review(base=arg))
        case "merge" | "squash" | "rebase":
            return Parsed(label, op=p.Land(mode=name, base=arg))
        case "resolve":
            return Parsed(label, op=p.ResolveConflict(base=arg))
        case "undo":
            return Parsed(label, op=p.Undo(commit=arg))
    return None


def _parse_diff(args: list[str]) -> Parsed | None:
    if args in ([], ["show"]):
        return Parsed("diff show", op=p.ShowDiff())
    if args == ["pull"]:
        return Parsed("diff pull", op=p.PullDiff())
    return None


def _parse_github(args: list[str]) -> Parsed | None:
    if len(args) == 2 and args[0] == "fix" and args[1].lstrip("#").isdigit():
        number = int(args[1].lstrip("#"))
        return Parsed(f"github fix {number}", op=p.GithubFix(number=number))
    return None


def unknown_command_message(text: str) -> tuple[str, str]:
    """What to say about an unrecognized ``/command``: the message and a hint (nearest command or usage)."""
    body = text.strip().removeprefix("/")
    name = body.split(maxsplit=1)[0] if body.split() else ""
    known = {doc.name: doc for doc in COMMANDS}
    doc = known.get(ALIASES.get(name, name))
    if doc is not None:
        usage = "; ".join(doc.usage) if doc.usage else f"/{doc.name} takes no arguments"
        return f"`/{body}` is not a valid use of /{doc.name}", usage
    names = [*known, *ALIASES]
    close = [n for n in names if name and n.startswith(name)] or difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    message = f"Unknown command `/{name}`" if name else "Type a command after the slash"
    if close:
        return message, f"did you mean /{close[0]}? (type /help to list the commands)"
    return message, "type /help to list the commands"


def complete(typed: str) -> list[CommandDoc]:
    """Commands whose name starts with what was typed after ``/`` (empty list once a space is typed)."""
    if not typed.startswith("/") or " " in typed or "\n" in typed:
        return []
    prefix = typed[1:]
    return [doc for doc in COMMANDS if doc.name.startswith(prefix)]


def help_text() -> str:
    """The ``/help`` message (markdown), like kwaak's ``templates/help.md``."""
    lines = ["You can use the following slash commands to interact with kwaak and the agent:", ""]
    for doc in sorted(COMMANDS, key=lambda d: d.name):
        lines.append(f"- **/{doc.name}** - {doc.summary}")
        lines.extend(f"  - `{usage}`" for usage in doc.usage)
    lines += ["", "Keybindings:", ""]
    lines.extend(f"- **{key}** - {what}" for key, what in KEYBINDINGS)
    lines += ["", "Chat list:", ""]
    lines.extend(f"- **{glyph}** - {what}" for glyph, what in LEGEND)
    lines.append("- **done** / **failed** / **approve?** - badges of chats that need a look")
    lines += ["", "If you encounter any issues, reach out to us on github or discord, we're happy to help!"]
    return "\n".join(lines)


WELCOME = (
    "Let's get kwekking. Start chatting with an agent and confirm with ^s to send! "
    "At any time you can type `/help` to list keybindings and other slash commands."
)
