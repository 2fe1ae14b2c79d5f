"""``kwaak query``, ``index`` and ``search`` build their models with ``limits.llm_timeout_sec``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kwaak.errors import ProviderError
from kwaak.index.cli_support import load_embedder, load_model
from tests.fakes.provider_server import FakeProviderServer, Fault


def _config(make_config: Any, srv: FakeProviderServer) -> Any:
    table = {"provider": "OpenAI", "api_key": "text:k", "base_url": f"{srv.url}/v1", "embedding_dimensions": 8}
    return make_config(
        llm={"indexing": table, "query": table, "embedding": table},
        limits={"llm_timeout_sec": 1},
        backoff={"initial_interval_sec": 0.01, "max_elapsed_time_sec": 0},
    )


async def test_query_model_times_out(make_config: Any) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(Fault.hang(30))
        model = load_model(_config(make_config, srv), "query")
        started = time.monotonic()
        with pytest.raises(ProviderError, match="did not answer in time"):
            await model.prompt("hello")
        assert time.monotonic() - started < 10
        await model.aclose()


async def test_index_and_search_embedder_times_out(make_config: Any) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(Fault.hang(30))
        embedder, reason = load_embedder(_config(make_config, srv))
        assert embedder is not None, reason
        started = time.monotonic()
        with pytest.raises(ProviderError):
            await embedder.embed(["some code"])
        assert time.monotonic() - started < 10
        await embedder.aclose()
