"""The LLM provider layer: chat models and embedders behind two small interfaces.

``make_model(cfg, backoff=...)`` and ``make_embedder(cfg)`` turn an ``[llm.*]`` table into a
:class:`Model` / :class:`Embedder`. Adapters (OpenAI-compatible, Anthropic: kwaak's own HTTP client, no SDK;
local embeddings) are imported lazily, so importing this package is cheap.
"""

from kwaak.llm.base import Embedder, Model, ModelResponse, TextDeltaCallback
from kwaak.llm.factory import embedding_dimensions, make_embedder, make_model

__all__ = [
    "Embedder",
    "Model",
    "ModelResponse",
    "TextDeltaCallback",
    "embedding_dimensions",
    "make_embedder",
    "make_model",
]
