"""Config builders pointing every provider at the fake server."""

from __future__ import annotations

from typing import Any

from kwaak.config.model import AnthropicConfig, AzureOpenAIConfig, OllamaConfig, OpenAIConfig, OpenRouterConfig
from kwaak.config.secrets import ApiKey
from kwaak.messages import AssistantMessage, Message, SummaryMessage, SystemMessage, ToolCall, ToolResult, UserMessage
from tests.fakes.provider_server import FakeProviderServer


def openai_cfg(srv: FakeProviderServer, **kw: Any) -> OpenAIConfig:
    return OpenAIConfig(provider="OpenAI", api_key=ApiKey("sk-openai-test"), base_url=srv.url + "/v1", **kw)


def azure_cfg(srv: FakeProviderServer, **kw: Any) -> AzureOpenAIConfig:
    values: dict[str, Any] = {
        "api_key": ApiKey("azure-test-key"),
        "base_url": srv.url,
        "api_version": "2024-10-21",
        "deployment_id": "my-deployment",
    } | kw
    return AzureOpenAIConfig(provider="AzureOpenAI", **values)


def openrouter_cfg(srv: FakeProviderServer, **kw: Any) -> OpenRouterConfig:
    return OpenRouterConfig(provider="OpenRouter", api_key=ApiKey("sk-or-test"), base_url=srv.url + "/api/v1", **kw)


def ollama_cfg(srv: FakeProviderServer, **kw: Any) -> OllamaConfig:
    return OllamaConfig(provider="Ollama", base_url=srv.url + "/v1", **kw)


def anthropic_cfg(srv: FakeProviderServer, **kw: Any) -> AnthropicConfig:
    return AnthropicConfig(provider="Anthropic", api_key=ApiKey("sk-ant-test"), base_url=srv.url, **kw)


def full_history() -> list[Message]:
    """A history with every message kind, valid for both APIs."""
    return [
        SystemMessage(content="You are a coding agent."),
        UserMessage(content="Fix the bug in calc.py"),
        AssistantMessage(
            content="Let me look.",
            tool_calls=(
                ToolCall(id="call_a", name="read_file", arguments='{"file_name": "calc.py"}'),
                ToolCall(id="call_b", name="search_file", arguments='{"query": "add"}'),
            ),
        ),
        ToolResult(call_id="call_a", name="read_file", content="def add(a, b): return a - b"),
        ToolResult(call_id="call_b", name="search_file", content="no such tool", is_error=True),
        SummaryMessage(content="# Summary\nYou read calc.py."),
        AssistantMessage(tool_calls=(ToolCall(id="call_c", name="write_file", arguments="{}"),)),
        ToolResult(call_id="call_c", name="write_file", content="ok"),
        SystemMessage(content="Remember the constraints."),
        UserMessage(content="continue"),
    ]
