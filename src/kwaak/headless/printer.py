"""Render backend events for a terminal (text) or for scripts (one JSON object per line)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Literal, TextIO

from kwaak import protocol as p
from kwaak.textsafe import escape_controls, json_safe

OutputFormat = Literal["text", "jsonl"]


@dataclass
class EventPrinter:
    """Prints events; text mode follows kwaak's run-agent style (``>>`` activity, ``Backend:`` lines)."""

    output: OutputFormat = "text"
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    prefix: str = ""
    """Text mode: a label per line (batch runs print several agents)."""
    show_deltas: bool = False

    def __call__(self, event: p.Event) -> None:
        """Print one event."""
        if self.output == "jsonl":
            self.stream.write(json_safe(json.dumps(event.to_json(), ensure_ascii=False, default=str)) + "\n")
            self.stream.flush()
            return
        line = self.text(event.msg)
        if line is not None:
            # Model text, tool output and titles are untrusted: no control sequence reaches the terminal.
            for part in escape_controls(line).split("\n"):
                self.stream.write(f"{self.prefix}{part}\n")
            self.stream.flush()

    def text(self, msg: p.EventMsg) -> str | None:
        """The text line for an event, or ``None`` to skip it."""
        match msg:
            case p.AssistantMessage(text=text, tool_calls=calls):
                parts = [f"Assistant: {text}"] if text else []
                parts += [f"  ⚙ {c.summary}" for c in calls if c.name != "stop"]
                return "\n".join(parts) if parts else None
            case p.ToolCallFinished(name=name, preview=preview, exit_code=code, outcome=outcome):
                mark = "✗" if msg.failed else "✓"
                facts = [f"exit {code}"] if code else []
                facts += [outcome] if outcome else []
                label = f"{name} ({', '.join(facts)})" if facts else name
                first = preview.splitlines()[0][:160] if preview else ""
                return f"  {mark} {label}: {first}" if first else f"  {mark} {label}"
            case p.Activity(text=text):
                return f">> {text}"
            case p.SystemMessage(text=text, level=level, hint=hint):
                label = "Backend" if level == "info" else f"Backend ({level})"
                return f"{label}: {text}" + (f"\n  hint: {hint}" if hint else "")
            case p.DiffShown(diff=diff):
                return diff
            case p.Committed(sha=sha, message=message, pushed=pushed, replaces=replaces):
                verb = f"reworded {replaces[:8]} as" if replaces else "committed"
                return f">> {verb} {sha[:8]}: {message}" + (" (pushed)" if pushed else "")
            case p.BranchRenamed(branch=branch):
                return f">> working on branch {branch}"
            case p.StatusChanged(status=status, reason=reason) if status not in ("running", "starting"):
                return f">> status: {status}" + (f" ({reason})" if reason else "")
            case p.CommandCompleted(ok=False, error=error, hint=hint):
                return f"Backend: Failed to handle command: {error}" + (f"\n  hint: {hint}" if hint else "")
            case p.CommandCompleted(command=command, seconds=seconds):
                return f"Backend: Command {command} successful in {round(seconds)} seconds"
            case p.AssistantDelta(text=text) if self.show_deltas:
                return text
            case _:
                return None

    def record(self, record: p.Record) -> None:
        """Print a headless record: JSON (``session_finished``, ``task_finished``, ``batch_finished``) or text."""
        if self.output == "jsonl":
            self.stream.write(json_safe(json.dumps(p.record_to_json(record), ensure_ascii=False, default=str)) + "\n")
        elif isinstance(record, p.AgentFinished):
            fields = {
                "status": record.status,
                "exit_code": record.exit_code,
                "branch": record.branch,
                "pull_request": record.pull_request,
                "steps": record.steps,
                "tokens": record.input_tokens + record.output_tokens,
                "cost": f"${record.cost_usd:.4f}",
                "seconds": record.seconds,
                "reason": record.reason,
            }
            shown = ", ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, ""))
            self.stream.write(escape_controls(f"{self.prefix}== finished: {shown}") + "\n")
        self.stream.flush()
