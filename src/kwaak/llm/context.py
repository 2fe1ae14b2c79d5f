"""Context windows and output limits of models.

Where the window comes from, first match wins:

1. ``context_window`` in the model's ``[llm.*]`` table;
2. what the server reports: llama.cpp ``GET /props`` (``n_ctx``), Ollama ``POST /api/show``
   (``num_ctx`` parameter, else the model's ``*.context_length``), vLLM ``GET /v1/models``
   (``max_model_len``), LM Studio ``GET /api/v0/models`` (``loaded_context_length``);
3. the built-in table below (model names normalized like prices: longest known prefix wins).

``max_output_tokens`` defaults to the model's known output limit, else 4096, and never more than
a quarter of the window (a looping local model stops after a bounded reply).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from kwaak.llm.pricing import normalize_model

if TYPE_CHECKING:
    from kwaak.llm.http import HTTPClient

log = logging.getLogger(__name__)

KNOWN_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-3.5-turbo": 16_385,
    "gpt-4": 8_192,
    "gpt-4-turbo": 128_000,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-5": 400_000,
    "gpt-5-mini": 400_000,
    "gpt-5-nano": 400_000,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o3-pro": 200_000,
    "o4-mini": 200_000,
    "claude-3-haiku": 200_000,
    "claude-3-opus": 200_000,
    "claude-3-5-haiku": 200_000,
    "claude-3-5-sonnet": 200_000,
    "claude-3-7-sonnet": 200_000,
    "claude-sonnet-4": 200_000,
    "claude-opus-4": 200_000,
    "claude-haiku-4-5": 200_000,
    "claude-opus-4-5": 200_000,
    "qwen2.5-coder": 32_768,
    "qwen2.5": 32_768,
    "qwen3": 40_960,
    "llama3.1": 131_072,
    "llama3.2": 131_072,
    "llama3.3": 131_072,
    "mistral": 32_768,
    "deepseek-coder-v2": 163_840,
    "deepseek-r1": 131_072,
    "gemma3": 131_072,
}

KNOWN_MAX_OUTPUT: dict[str, int] = {
    "gpt-4o": 16_384,
    "gpt-4o-mini": 16_384,
    "gpt-4.1": 32_768,
    "gpt-5": 128_000,
    "o1": 100_000,
    "o3": 100_000,
    "o3-mini": 100_000,
    "o4-mini": 100_000,
    "claude-3-haiku": 4_096,
    "claude-3-opus": 4_096,
    "claude-3-5-haiku": 8_192,
    "claude-3-5-sonnet": 8_192,
    "claude-3-7-sonnet": 64_000,
    "claude-sonnet-4": 64_000,
    "claude-opus-4": 32_000,
    "claude-haiku-4-5": 64_000,
    "claude-opus-4-5": 64_000,
}
DEFAULT_MAX_OUTPUT = 4096
"""Output limit of models not in the table."""
DEFAULT_OUTPUT_CAP = 16_384
"""Largest default output limit of other models (configure more with ``max_output_tokens``)."""
REASONING_MAX_OUTPUT = 32_768
"""Default output limit of reasoning models (their hidden reasoning counts as output)."""
_REASONING_DEFAULT = ("o1", "o3", "o4", "gpt-5")


def _lookup(table: dict[str, int], model: str) -> int | None:
    name = normalize_model(model).replace(":", "-")
    if name in table:
        return table[name]
    prefixes = [k for k in table if name.startswith((k + "-", k + "."))]
    return table[max(prefixes, key=len)] if prefixes else None


def known_context_window(model: str) -> int | None:
    """The window of a model in the built-in table, else ``None``."""
    return _lookup(KNOWN_CONTEXT_WINDOWS, model)


def default_max_output(model: str, window: int | None) -> int:
    """The default ``max_output_tokens`` for ``model`` with context ``window``.

    The model's known limit capped at 16,384 (32,768 for reasoning models, whose hidden reasoning
    counts as output), else 4,096; never more than a quarter of a known window.
    """
    reasoning = normalize_model(model).startswith(_REASONING_DEFAULT)
    cap = REASONING_MAX_OUTPUT if reasoning else DEFAULT_OUTPUT_CAP
    value = min(_lookup(KNOWN_MAX_OUTPUT, model) or (cap if reasoning else DEFAULT_MAX_OUTPUT), cap)
    if window:
        value = min(value, max(256, window // 4))
    return value


def _root(base_url: str) -> str:
    """``http://host:port`` of an OpenAI-style base URL (``/v1`` dropped)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1")
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def window_from_props(body: Any) -> int | None:
    """llama.cpp ``/props``: ``default_generation_settings.n_ctx`` (per slot), else ``n_ctx``."""
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings")
    if isinstance(settings, dict) and _int(settings.get("n_ctx")):
        return _int(settings.get("n_ctx"))
    return _int(body.get("n_ctx"))


def window_from_ollama_show(body: Any) -> int | None:
    """Ollama ``/api/show``: a ``num_ctx`` in ``parameters``, else ``model_info["<arch>.context_length"]``."""
    if not isinstance(body, dict):
        return None
    for line in str(body.get("parameters") or "").splitlines():
        key, _, value = line.strip().partition(" ")
        if key == "num_ctx" and value.strip().isdigit():
            return int(value.strip())
    info = body.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if str(key).endswith(".context_length") and _int(value):
                return _int(value)
    return None


def window_from_models(body: Any, model: str) -> int | None:
    """vLLM ``/v1/models`` (``max_model_len``) or LM Studio ``/api/v0/models`` (``loaded_context_length``)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    entries = [e for e in data if isinstance(e, dict)]
    chosen = [e for e in entries if e.get("id") == model] or (entries if len(entries) == 1 else [])
    for entry in chosen:
        for key in ("max_model_len", "loaded_context_length", "max_context_length"):
            if _int(entry.get(key)):
                return _int(entry.get(key))
    return None


async def probe_context_window(
    base_url: str, model: str, *, ollama: bool = False, timeout: float = 5.0, client: HTTPClient | None = None
) -> int | None:
    """Ask a self-hosted server for the context window of ``model``; ``None`` when it does not say.

    Never raises: a server without these endpoints (or a network error) just gives no answer.
    ``client``: the model's own HTTP client, so its first request reuses the probe's connection.
    """
    import json

    from kwaak.llm.http import HTTPClient, HTTPError

    root = _root(base_url)
    probes: list[tuple[str, str, Any, Any]] = []
    if ollama:
        probes.append(("POST", f"{root}/api/show", {"model": model}, window_from_ollama_show))
    probes += [
        ("GET", f"{root}/props", None, window_from_props),
        ("GET", f"{root}/v1/models", None, lambda b: window_from_models(b, model)),
        ("GET", f"{root}/api/v0/models", None, lambda b: window_from_models(b, model)),
    ]
    own = client is None
    client = client or HTTPClient()
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    try:
        for method, url, body, parse in probes:
            data = None if body is None else json.dumps(body).encode()
            try:
                response = await client.request(method, url, headers=headers, body=data, timeout=timeout)
                if response.status_code != 200:
                    continue
                window = parse(response.json())
            except (HTTPError, ValueError):
                continue
            if window:
                log.info("context window of %s reported by %s: %d tokens", model, url, window)
                return int(window)
    except Exception as exc:  # never let a probe break the agent
        log.info("context window probe of %s failed: %s", base_url, exc)
    finally:
        if own:
            await client.aclose()
    return None
