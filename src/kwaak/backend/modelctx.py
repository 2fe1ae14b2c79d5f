"""A session's model and context window: ``/model`` switching, ``/compact``, and the context meter.

``/model NAME`` picks a configured model (the prompt model of ``[llm.query]`` or
``[llm.indexing]``, with its own table) or any other model name of the query provider (same
endpoint and key, limits from the server or kwaak's table). Models are built once per name and
shared by the sessions that use them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak.agent.compaction import Compactor, ContextUsage
from kwaak.errors import BadRequest, ConfigError, ProviderError
from kwaak.llm.context import KNOWN_CONTEXT_WINDOWS
from kwaak.messages import ToolSpec, UserMessage

if TYPE_CHECKING:
    from kwaak.backend.runtime import Runtime
    from kwaak.llm.base import Model
    from kwaak.messages import Usage
    from kwaak.tools.base import Tool


def configured_models(runtime: Runtime) -> dict[str, str]:
    """``{model name: role}`` of the chat models in the config (query first)."""
    names: dict[str, str] = {}
    for role in ("query", "indexing"):
        name = getattr(getattr(runtime.config.llm, role), "prompt_model", None)
        if isinstance(name, str) and name and name not in names:
            names[name] = role
    return names


def model_for(runtime: Runtime, name: str | None) -> Model:
    """The model called ``name`` (``None``: the configured query model), built on first use."""
    models = runtime.models
    if not name or name == models.query.name:
        return models.query
    if name == models.indexing.name:
        return models.indexing
    cached = runtime.extra_models.get(name)
    if cached is None:
        from kwaak.llm import make_model

        config = runtime.config
        if not hasattr(config.llm.query, "prompt_model"):
            msg = f"the {config.llm.query.provider} query provider has no model to replace"
            raise ConfigError(msg, hint="drop --model or configure a chat provider in [llm.query]")
        cached = make_model(
            config.llm.query,
            backoff=config.backoff,
            prices=config.prices,
            timeout=config.limits.llm_timeout_sec,
            model_name=name,
        )
        runtime.extra_models[name] = cached
    return cached


def describe_models(runtime: Runtime, current: Model) -> str:
    """The ``/model`` listing: current, configured and known model names."""
    lines = [f"Current model: {current.label}", "", "Configured:"]
    lines += [f"- {name} ([llm.{role}])" for name, role in configured_models(runtime).items()]
    lines += [
        "",
        f"Known to kwaak (any other name your {runtime.config.llm.query.provider} endpoint serves works too):",
    ]
    lines.append(", ".join(sorted(KNOWN_CONTEXT_WINDOWS)))
    lines += ["", "Switch with `/model NAME`."]
    return "\n".join(lines)


PROBE_TOOL = ToolSpec(
    name="ping",
    description="Answers a ping. Call it whenever you are asked to.",
    parameters={"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]},
)
PROBE_PROMPT = "Call the ping tool with reply 'pong'. Do not answer with text."


async def check_tool_calling(runtime: Runtime, model: Model, on_usage: Callable[[Usage], None]) -> str | None:
    """One tiny request with one tool to a self-hosted model (once per model); a warning when it cannot call tools.

    Hosted APIs are not probed (their chat models call tools). Returns ``None`` when all is well or
    the probe could not tell (other errors surface on the agent's first request).
    """
    if model.limits is None or model.limits.probe is None or model.name in runtime.tool_probes:
        return None
    runtime.tool_probes.add(model.name)
    try:
        response = await model.complete([UserMessage(content=PROBE_PROMPT)], tools=[PROBE_TOOL])
    except BadRequest as exc:
        return (
            f"{model.name} refused a request with tools ({exc.message}); agents cannot work without tool calls. "
            "For llama.cpp start `llama-server` with `--jinja`; otherwise pick a model that supports tools."
        )
    except ProviderError:
        return None
    on_usage(response.usage)
    if response.message.tool_calls:
        return None
    return (
        f"{model.name} answered a tool-calling check with text instead of a tool call: it may not support tool "
        "calls (agents will stall). Use a model with tool support (e.g. Qwen2.5-Coder, Llama 3.1) and, for "
        "llama.cpp, `--jinja`."
    )


def context_info(usage: ContextUsage | None, model: Model) -> p.ContextInfo | None:
    """The protocol's context meter."""
    if usage is None:
        return None
    return p.ContextInfo(used_tokens=usage.used, window_tokens=usage.window, model=model.label)


def new_compactor(
    model: Model,
    *,
    specs: Callable[[], Sequence[ToolSpec]],
    tools: Callable[[], Sequence[Tool]],
    diff: Callable[[], Awaitable[str]] | None,
    on_usage: Callable[[Usage], None],
    emit: Callable[[p.EventMsg], None],
    on_context: Callable[[ContextUsage], None],
) -> Compactor:
    """A compactor for one agent that reports to the session's events."""

    def notify(level: str, text: str) -> None:
        if level == "warning":
            emit(p.SystemMessage(text=text, level="warning"))
        else:
            emit(p.Activity(text=text) if text.endswith("...") else p.SystemMessage(text=text))

    return Compactor(
        model=model,
        tools=specs,
        summary_tools=tools,
        diff=diff,
        on_usage=on_usage,
        notify=notify,
        on_context=on_context,
    )
