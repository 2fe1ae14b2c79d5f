"""Pilot tests: ``/compact``, ``/model`` and the context meter in the status bar, on a real backend."""

from __future__ import annotations

from kwaak.llm.base import ContextLimits
from kwaak.llm.testing import ScriptedModel, call
from kwaak.ui.chrome import StatusBar
from kwaak.ui.commands import parse
from kwaak.ui.messages import AssistantEntry
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, system_texts, wait_for

BIG = "echo one; python3 -c \"print('many words ' * 800)\""


def _summary(prompt: str) -> str:
    return "# Summary\nYou echoed twice." if "Summarize" in prompt else "Kwek"


def test_parse_compact_and_model() -> None:
    from kwaak import protocol as p

    assert parse("/compact") is not None and parse("/compact").op == p.CompactContext()  # type: ignore[union-attr]
    assert parse("/model").op == p.SwitchModel(name=None)  # type: ignore[union-attr]
    assert parse("/model gpt-4o").op == p.SwitchModel(name="gpt-4o")  # type: ignore[union-attr]
    assert parse("/model a b") is None


async def test_context_meter_and_compact(make_app: AppFactory) -> None:
    model = ScriptedModel(
        [call("shell_command", cmd=BIG), call("shell_command", cmd="echo two"), call("stop")],
        prompt_reply=_summary,
    )
    model.limits = ContextLimits(window=32_000)
    app, _ = make_app(model)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "echo twice")
        await wait_for(pilot, lambda: app.current_chat.status == "done")
        chat = app.current_chat
        assert chat.context is not None and chat.context.endswith("%") and "/32.0k" in chat.context
        bar = app.query_one(StatusBar)
        assert f"context: {chat.context}" in str(bar.render())
        before = chat.context
        requests = len(model.requests)
        await send(pilot, "/compact")
        await wait_for(pilot, lambda: any("Compacted the conversation" in t for t in system_texts(app.current_log)))
        assert len(model.requests) == requests + 1  # the summary request
        summary_request, tools = model.requests[-1]
        assert not tools and "echo one" in str(summary_request)
        await wait_for(pilot, lambda: chat.context != before)
        used = lambda text: float(text.split("/")[0].rstrip("k"))  # noqa: E731
        assert used(chat.context or "") < used(before)


async def test_model_lists_and_switches(make_app: AppFactory) -> None:
    first = ScriptedModel([call("stop")], name="model-a")
    app, backend = make_app(first)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/model")
        await wait_for(pilot, lambda: any("Current model: model-a" in t for t in system_texts(app.current_log)))
        listing = next(t for t in system_texts(app.current_log) if "Current model" in t)
        assert "Configured:" in listing and "gpt-4o" in listing
        await send(pilot, "/model model-b")
        await wait_for(pilot, lambda: any("now uses model-b" in t for t in system_texts(app.current_log)))
        await send(pilot, "hello")
        await wait_for(pilot, lambda: app.current_chat.status == "done")
        assert first.requests == []  # the chat talked to model-b (the configured Scripted provider's model)
        switched = backend.runtime.extra_models["model-b"]
        assert isinstance(switched, ScriptedModel) and switched.requests
        assert not any(isinstance(e, AssistantEntry) and e.text == "error" for e in app.current_log.entries)
