"""make_model / make_embedder / embedding_dimensions for every provider table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwaak.config.model import (
    BackoffConfig,
    FastEmbedConfig,
    OllamaConfig,
    OllamaEmbeddingModel,
    OpenAIConfig,
    ScriptedConfig,
)
from kwaak.config.secrets import ApiKey
from kwaak.errors import ConfigError
from kwaak.llm import embedding_dimensions, make_embedder, make_model
from kwaak.llm.anthropic_adapter import AnthropicModel
from kwaak.llm.openai_adapter import OpenAIChatModel
from kwaak.llm.testing import HashEmbedder, ScriptedModel
from kwaak.messages import ToolSpec, UserMessage
from tests.fakes.provider_server import FakeProviderServer
from tests.llm.helpers import anthropic_cfg, azure_cfg, ollama_cfg, openai_cfg, openrouter_cfg

BACKOFF = BackoffConfig()


def test_each_chat_provider_gets_its_adapter(provider_server: FakeProviderServer) -> None:
    assert isinstance(make_model(openai_cfg(provider_server), backoff=BACKOFF), OpenAIChatModel)
    assert isinstance(make_model(azure_cfg(provider_server), backoff=BACKOFF), OpenAIChatModel)
    assert isinstance(make_model(openrouter_cfg(provider_server), backoff=BACKOFF), OpenAIChatModel)
    assert isinstance(make_model(ollama_cfg(provider_server, prompt_model="llama3"), backoff=BACKOFF), OpenAIChatModel)
    assert isinstance(make_model(anthropic_cfg(provider_server), backoff=BACKOFF), AnthropicModel)


def test_endpoints_appear_in_errors_as_configured(provider_server: FakeProviderServer) -> None:
    model = make_model(openrouter_cfg(provider_server), backoff=BACKOFF)
    assert isinstance(model, OpenAIChatModel) and model.provider == f"{provider_server.url}/api/v1"
    assert model.name == "anthropic/claude-3.5-sonnet"
    anthropic = make_model(anthropic_cfg(provider_server), backoff=BACKOFF)
    assert isinstance(anthropic, AnthropicModel) and anthropic.provider.startswith(provider_server.url)
    default = make_model(OpenAIConfig(provider="OpenAI", api_key=ApiKey("sk-test")), backoff=BACKOFF)
    assert isinstance(default, OpenAIChatModel) and default.provider == "OpenAI"  # no base_url: the provider


def test_fastembed_cannot_chat() -> None:
    with pytest.raises(ConfigError) as info:
        make_model(FastEmbedConfig(provider="FastEmbed"), backoff=BACKOFF)
    assert "only embeds" in info.value.message and info.value.hint


def test_azure_requires_endpoint_version_and_deployment(provider_server: FakeProviderServer) -> None:
    with pytest.raises(ConfigError) as info:
        make_model(azure_cfg(provider_server, api_version=None, deployment_id=None), backoff=BACKOFF)
    assert "`api_version`" in info.value.message and "`deployment_id`" in info.value.message
    assert info.value.hint


def test_ollama_chat_requires_prompt_model(provider_server: FakeProviderServer) -> None:
    with pytest.raises(ConfigError, match="prompt_model"):
        make_model(ollama_cfg(provider_server), backoff=BACKOFF)


async def test_custom_base_url_needs_no_key(provider_server: FakeProviderServer) -> None:
    model = make_model(OpenAIConfig(provider="OpenAI", base_url=provider_server.url + "/v1"), backoff=BACKOFF)
    assert await model.prompt("x") == "Kwek"
    assert provider_server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_missing_api_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        make_model(OpenAIConfig(provider="OpenAI"), backoff=BACKOFF)
    assert "api_key" in info.value.message and "OPENAI_API_KEY" in (info.value.hint or "")


async def test_scripted_provider_plays_its_script_file(tmp_path: Path) -> None:
    script = tmp_path / "script.jsonl"
    script.write_text(
        "\n".join(
            json.dumps(step)
            for step in [
                {"text": "Looking", "tool_calls": [{"name": "read_file", "arguments": {"file_name": "a.py"}}]},
                {"text": "Done"},
            ]
        )
    )
    model = make_model(ScriptedConfig(provider="Testing", script=script, delay_sec=0.01), backoff=BACKOFF)
    assert isinstance(model, ScriptedModel) and model.delay == 0.01
    tools = [ToolSpec(name="read_file", description="r"), ToolSpec(name="stop", description="s")]
    first = await model.complete([UserMessage(content="go")], tools=tools)
    assert json.loads(first.message.tool_calls[0].arguments) == {"file_name": "a.py"}
    assert (await model.complete([UserMessage(content="go")], tools=tools)).message.content == "Done"
    assert (await model.complete([UserMessage(content="go")], tools=tools)).message.tool_calls[0].name == "stop"


async def test_scripted_without_script_says_kwek() -> None:
    model = make_model(ScriptedConfig(provider="Scripted"), backoff=BACKOFF)
    assert await model.prompt("title please") == "Kwek"


def test_embedding_dimensions_per_provider(provider_server: FakeProviderServer) -> None:
    assert embedding_dimensions(openai_cfg(provider_server, embedding_model="text-embedding-3-small")) == 1536
    assert embedding_dimensions(openai_cfg(provider_server, embedding_model="text-embedding-3-large")) == 3072
    assert embedding_dimensions(openai_cfg(provider_server, embedding_model="text-embedding-ada-002")) == 1536
    assert embedding_dimensions(openai_cfg(provider_server, embedding_model="custom", embedding_dimensions=99)) == 99
    assert embedding_dimensions(azure_cfg(provider_server, embedding_model="text-embedding-3-small")) == 1536
    ollama = OllamaConfig(provider="Ollama", embedding_model=OllamaEmbeddingModel(name="nomic", vector_size=768))
    assert embedding_dimensions(ollama) == 768
    assert embedding_dimensions(ScriptedConfig(provider="Scripted", embedding_dimensions=12)) == 12
    assert embedding_dimensions(FastEmbedConfig(provider="Local")) == 384


def test_unknown_openai_embedding_model_needs_dimensions(provider_server: FakeProviderServer) -> None:
    with pytest.raises(ConfigError, match="unknown vector size"):
        embedding_dimensions(openai_cfg(provider_server, embedding_model="my-embedder"))


@pytest.mark.parametrize("which", ["anthropic", "openrouter"])
def test_providers_that_cannot_embed(provider_server: FakeProviderServer, which: str) -> None:
    cfg = anthropic_cfg(provider_server) if which == "anthropic" else openrouter_cfg(provider_server)
    for build in (make_embedder, embedding_dimensions):
        with pytest.raises(ConfigError) as info:
            build(cfg)
        assert "cannot embed" in info.value.message
        assert "Ollama" in (info.value.hint or "")


def test_scripted_embedder_is_a_hash_embedder() -> None:
    embedder = make_embedder(ScriptedConfig(provider="Testing", embedding_dimensions=16))
    assert isinstance(embedder, HashEmbedder) and embedder.dimensions == 16


def test_ollama_embedder_requires_embedding_model() -> None:
    with pytest.raises(ConfigError, match="embedding_model"):
        make_embedder(OllamaConfig(provider="Ollama"))


def test_secrets_never_show_in_model_repr(provider_server: FakeProviderServer) -> None:
    cfg = OpenAIConfig(provider="OpenAI", api_key=ApiKey("sk-very-secret"), base_url=provider_server.url)
    model = make_model(cfg, backoff=BACKOFF)
    assert isinstance(model, OpenAIChatModel)
    assert "sk-very-secret" not in repr(model._spec) and "sk-very-secret" not in repr(vars(model))
