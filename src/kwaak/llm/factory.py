"""Build models and embedders from ``[llm.*]`` config tables.

Adapters are imported inside the functions: importing :mod:`kwaak.llm` must stay cheap
(``kwaak --help`` and the TUI's first frame do not wait for them).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kwaak.errors import ConfigError

if TYPE_CHECKING:
    from kwaak.config.model import (
        AzureOpenAIConfig,
        BackoffConfig,
        LLMConfig,
        ModelPrice,
        OpenAIConfig,
    )
    from kwaak.config.secrets import ApiKey
    from kwaak.llm.base import Embedder, Model
    from kwaak.llm.openai_adapter import OpenAIClientSpec
    from kwaak.llm.testing import Step

OPENROUTER_HEADERS = {"HTTP-Referer": "https://github.com/bosun-ai/kwaak", "X-Title": "kwaak"}
OPENAI_EMBEDDING_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
DEFAULT_TIMEOUT_SEC = 300.0
_CANNOT_EMBED_HINT = "use OpenAI, AzureOpenAI, Ollama or Local (offline) for `[llm.embedding]`"


def _key(cfg: LLMConfig, key: ApiKey | None) -> str:
    if key is None:
        msg = f"{cfg.provider} config requires an `api_key`"
        hint = f'set `api_key = "env:{cfg.provider.upper()}_API_KEY"` in the table, or the root-level key'
        raise ConfigError(msg, hint=hint)
    return key.reveal()


def _openai_spec(cfg: OpenAIConfig, timeout: float) -> OpenAIClientSpec:
    from kwaak.llm.openai_adapter import OpenAIClientSpec

    # Self-hosted OpenAI-compatible servers often need no key; a placeholder bearer token is sent (as the SDK did).
    key = "not-needed" if cfg.api_key is None and cfg.base_url else _key(cfg, cfg.api_key)
    return OpenAIClientSpec(api_key=key, base_url=cfg.base_url, timeout=timeout)


def _azure_spec(cfg: AzureOpenAIConfig, timeout: float) -> OpenAIClientSpec:
    from kwaak.llm.openai_adapter import OpenAIClientSpec

    missing = [k for k in ("base_url", "api_version", "deployment_id") if not getattr(cfg, k)]
    if missing:
        msg = f"AzureOpenAI config requires {', '.join(f'`{k}`' for k in missing)}"
        raise ConfigError(msg, hint="set base_url (https://<resource>.openai.azure.com), api_version and deployment_id")
    return OpenAIClientSpec(
        kind="azure",
        api_key=_key(cfg, cfg.api_key),
        base_url=cfg.base_url,
        api_version=cfg.api_version,
        deployment=cfg.deployment_id,
        timeout=timeout,
    )


def make_model(
    cfg: LLMConfig,
    *,
    backoff: BackoffConfig,
    prices: Mapping[str, ModelPrice] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SEC,
    model_name: str | None = None,
) -> Model:
    """Build the chat model for one ``[llm.*]`` table.

    Args:
        cfg: the provider table.
        backoff: retry settings for remote providers.
        prices: ``Config.prices`` overrides of the built-in price table.
        timeout: seconds before one HTTP request is abandoned (and retried as transient).
        model_name: another model of the same provider table (``/model``, ``--model``).

    Raises:
        ConfigError: the provider cannot chat (FastEmbed/Local) or required settings are missing.
    """
    from kwaak.config import model as cm
    from kwaak.llm.base import ContextLimits

    if model_name and isinstance(cfg, cm.ChatModelLimits) and hasattr(cfg, "prompt_model"):
        switched = cfg.model_copy(update={"prompt_model": model_name})
        if model_name != getattr(cfg, "prompt_model", None):
            # The configured limits belong to the configured model; another one gets its own defaults.
            switched = switched.model_copy(update={"context_window": None, "max_output_tokens": None})
        cfg = switched
    model = _build_model(cfg, backoff=backoff, prices=prices, timeout=timeout)
    if isinstance(cfg, cm.ChatModelLimits):
        model.limits = ContextLimits(
            window=cfg.context_window, max_output=cfg.max_output_tokens, probe=_probe(cfg, model)
        )
    if isinstance(cfg, cm.OpenAIConfig | cm.AzureOpenAIConfig | cm.OpenRouterConfig):
        model.reasoning_effort = cfg.reasoning_effort
    from kwaak.llm.anthropic_adapter import AnthropicModel

    if isinstance(cfg, cm.AnthropicConfig) and isinstance(model, AnthropicModel):
        model.thinking_budget = cfg.thinking_budget_tokens
    return model


def _probe(cfg: LLMConfig, model: Model) -> Callable[[], Awaitable[int | None]] | None:
    """How to ask a self-hosted server for its context window (``None`` for hosted APIs).

    The probe uses the model's HTTP client: its first request reuses the probe's connection.
    """
    from kwaak.config import model as cm
    from kwaak.llm.context import probe_context_window
    from kwaak.llm.openai_adapter import OpenAIChatModel

    client = model.http_client if isinstance(model, OpenAIChatModel) else None
    if isinstance(cfg, cm.OllamaConfig) and cfg.prompt_model:
        return functools.partial(probe_context_window, cfg.base_url, cfg.prompt_model, ollama=True, client=client)
    if isinstance(cfg, cm.OpenAIConfig) and cfg.base_url:
        return functools.partial(probe_context_window, cfg.base_url, cfg.prompt_model, client=client)
    return None


def _build_model(
    cfg: LLMConfig,
    *,
    backoff: BackoffConfig,
    prices: Mapping[str, ModelPrice] | None,
    timeout: float,
) -> Model:
    from kwaak.config import model as cm
    from kwaak.llm.anthropic_adapter import AnthropicClientSpec, AnthropicModel
    from kwaak.llm.errors import endpoint_label
    from kwaak.llm.openai_adapter import OpenAIChatModel, OpenAIClientSpec
    from kwaak.llm.pricing import price_for
    from kwaak.llm.retry import RetryPolicy
    from kwaak.llm.testing import ScriptedModel

    policy = RetryPolicy.from_config(backoff)
    match cfg:
        case cm.OpenAIConfig():
            return OpenAIChatModel(
                _openai_spec(cfg, timeout),
                model=cfg.prompt_model,
                provider=endpoint_label("OpenAI", cfg.base_url),
                policy=policy,
                price=price_for(cfg.prompt_model, prices),
            )
        case cm.AzureOpenAIConfig():
            return OpenAIChatModel(
                _azure_spec(cfg, timeout),
                model=cfg.prompt_model,
                provider=endpoint_label("AzureOpenAI", cfg.base_url),
                policy=policy,
                price=price_for(cfg.prompt_model, prices),
            )
        case cm.OpenRouterConfig():
            spec = OpenAIClientSpec(
                api_key=_key(cfg, cfg.api_key), base_url=cfg.base_url, headers=OPENROUTER_HEADERS, timeout=timeout
            )
            return OpenAIChatModel(
                spec,
                model=cfg.prompt_model,
                provider=endpoint_label("OpenRouter", cfg.base_url),
                policy=policy,
                price=price_for(cfg.prompt_model, prices),
            )
        case cm.OllamaConfig():
            if not cfg.prompt_model:
                msg = "Ollama config has no `prompt_model`, but this role needs a chat model"
                raise ConfigError(msg, hint='set `prompt_model = "llama3.1"` (any model pulled into Ollama)')
            # A local server that is down should fail at once, not after minutes of backoff (as kwaak).
            spec = OpenAIClientSpec(api_key="ollama", base_url=cfg.base_url, timeout=timeout)
            return OpenAIChatModel(
                spec,
                model=cfg.prompt_model,
                provider=endpoint_label("Ollama", cfg.base_url),
                policy=RetryPolicy(max_elapsed_time=0),
                price=price_for(cfg.prompt_model, prices),
            )
        case cm.AnthropicConfig():
            anthropic_spec = AnthropicClientSpec(api_key=_key(cfg, cfg.api_key), base_url=cfg.base_url, timeout=timeout)
            anthropic = AnthropicModel(
                anthropic_spec, model=cfg.prompt_model, policy=policy, price=price_for(cfg.prompt_model, prices)
            )
            anthropic.provider = endpoint_label("Anthropic", cfg.base_url)
            return anthropic
        case cm.FastEmbedConfig():
            msg = f"the {cfg.provider} provider only embeds; it has no chat model"
            raise ConfigError(msg, hint="use OpenAI, Anthropic, Ollama, OpenRouter or AzureOpenAI for indexing/query")
        case cm.ScriptedConfig():
            script = _scripted_steps(cfg.script, cfg.prompt_model) if cfg.script else []
            return ScriptedModel(
                script=list(script),
                delay=cfg.delay_sec,
                name=cfg.prompt_model,
                per_conversation=True,
                price=price_for(cfg.prompt_model, prices),
            )
    msg = f"unknown provider {cfg.provider!r}"  # pragma: no cover - the config schema forbids it
    raise ConfigError(msg)


def _scripted_steps(path: Path, model: str) -> list[Step]:
    """The script at ``path``; ``{model}`` in it picks one per model name (best-of-N with ``--models``)."""
    from kwaak.llm.testing import load_script

    resolved = Path(str(path).replace("{model}", model))
    try:
        return load_script(resolved)
    except FileNotFoundError as exc:
        msg = f"the Scripted model's script {str(resolved)!r} does not exist"
        raise ConfigError(msg, hint="check `script` under [llm.query]") from exc


def embedding_dimensions(cfg: LLMConfig) -> int:
    """The vector size the embedder for ``cfg`` produces (fixed when the index is created).

    Raises:
        ConfigError: the provider cannot embed or the size is unknown.
    """
    from kwaak.config import model as cm
    from kwaak.llm.embeddings import LOCAL_MODEL_DIMENSIONS, LocalEmbedder

    match cfg:
        case cm.OpenAIConfig() | cm.AzureOpenAIConfig():
            explicit = cfg.embedding_dimensions if isinstance(cfg, cm.OpenAIConfig) else None
            size = explicit or OPENAI_EMBEDDING_DIMENSIONS.get(cfg.embedding_model)
            if size is None:
                msg = f"unknown vector size of embedding model {cfg.embedding_model!r}"
                raise ConfigError(msg, hint="set `embedding_dimensions = N` in the table")
            return size
        case cm.OllamaConfig():
            return _ollama_embedding(cfg)[1]
        case cm.FastEmbedConfig():
            known = LOCAL_MODEL_DIMENSIONS.get(cfg.embedding_model.lower())
            if known is not None:
                return known
            embedder = LocalEmbedder(cfg.embedding_model)
            embedder.load_model()
            return embedder.dimensions
        case cm.ScriptedConfig():
            return cfg.embedding_dimensions
        case cm.OpenRouterConfig() | cm.AnthropicConfig():
            msg = f"the {cfg.provider} provider cannot embed"
            raise ConfigError(msg, hint=_CANNOT_EMBED_HINT)
    msg = f"unknown provider {cfg.provider!r}"  # pragma: no cover
    raise ConfigError(msg)


def _ollama_embedding(cfg: LLMConfig) -> tuple[str, int]:
    from kwaak.config import model as cm

    if not isinstance(cfg, cm.OllamaConfig) or cfg.embedding_model is None:
        msg = "Ollama config has no `embedding_model`, but this role needs one"
        raise ConfigError(msg, hint='set `embedding_model = { name = "nomic-embed-text", vector_size = 768 }`')
    return cfg.embedding_model.name, cfg.embedding_model.vector_size


def make_embedder(
    cfg: LLMConfig,
    *,
    batch_size: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_SEC,
    backoff: BackoffConfig | None = None,
) -> Embedder:
    """Build the embedder for the ``[llm.embedding]`` table.

    Args:
        cfg: the provider table.
        batch_size: texts per request (``indexing_batch_size``); provider default when ``None``.
        timeout: seconds before one HTTP request is abandoned.
        backoff: retry settings for remote providers (kwaak's defaults when ``None``).

    Raises:
        ConfigError: the provider cannot embed (Anthropic, OpenRouter) or settings are missing.
        ProviderError: local embeddings were chosen but the ``local-embeddings`` extra is missing.
    """
    from kwaak.config import model as cm
    from kwaak.llm.embeddings import LocalEmbedder, OpenAIEmbedder
    from kwaak.llm.errors import endpoint_label
    from kwaak.llm.openai_adapter import OpenAIClientSpec
    from kwaak.llm.retry import RetryPolicy
    from kwaak.llm.testing import HashEmbedder

    policy = RetryPolicy.from_config(backoff) if backoff is not None else RetryPolicy()
    match cfg:
        case cm.OpenAIConfig():
            return OpenAIEmbedder(
                _openai_spec(cfg, timeout),
                model=cfg.embedding_model,
                provider=endpoint_label("OpenAI", cfg.base_url),
                dimensions=embedding_dimensions(cfg),
                batch_size=batch_size or 12,
                policy=policy,
            )
        case cm.AzureOpenAIConfig():
            return OpenAIEmbedder(
                _azure_spec(cfg, timeout),
                model=cfg.embedding_model,
                provider=endpoint_label("AzureOpenAI", cfg.base_url),
                dimensions=embedding_dimensions(cfg),
                batch_size=batch_size or 12,
                policy=policy,
            )
        case cm.OllamaConfig():
            name, size = _ollama_embedding(cfg)
            spec = OpenAIClientSpec(api_key="ollama", base_url=cfg.base_url, timeout=timeout)
            return OpenAIEmbedder(
                spec,
                model=name,
                dimensions=size,
                batch_size=batch_size or 256,
                provider=endpoint_label("Ollama", cfg.base_url),
                policy=RetryPolicy(max_elapsed_time=0),
            )
        case cm.FastEmbedConfig():
            return LocalEmbedder(cfg.embedding_model, batch_size=batch_size or 64)
        case cm.ScriptedConfig():
            return HashEmbedder(dimensions=cfg.embedding_dimensions)
        case cm.OpenRouterConfig() | cm.AnthropicConfig():
            msg = f"the {cfg.provider} provider cannot embed"
            raise ConfigError(msg, hint=_CANNOT_EMBED_HINT)
    msg = f"unknown provider {cfg.provider!r}"  # pragma: no cover
    raise ConfigError(msg)
