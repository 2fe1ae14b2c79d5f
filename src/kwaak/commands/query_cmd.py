"""``kwaak query``: answer a question about the code from the index (kwaak's query pipeline)."""

from __future__ import annotations

import asyncio
import sys

from rich.console import Console

from kwaak.agent.budget import Meter, MeteredModel
from kwaak.commands.index_op import open_index
from kwaak.index.cli_support import AppLike, load_embedder, load_model
from kwaak.index.query import answer_question, strip_markdown_fence
from kwaak.textsafe import escape_controls


def run(app: AppLike, query: str) -> int:
    """Print the answer to ``query``, then its usage (tokens and cost of every model call) on stderr.

    Raises:
        ProviderError: the query model failed.
        ConfigError: the query model is not configured.
    """
    meter = Meter()
    print(escape_controls(asyncio.run(_answer(app, query, meter))))
    usage = meter.usage
    print(
        f"usage: {usage.input_tokens} input + {usage.output_tokens} output tokens, "
        f"{usage.requests} requests, ${usage.cost_usd:.4f}",
        file=sys.stderr,
    )
    return 0


async def _answer(app: AppLike, query: str, meter: Meter) -> str:
    console = Console(stderr=True)
    shared = load_model(app.config, "query")
    model = MeteredModel(shared, meter.add)
    embedder, _ = load_embedder(app.config)
    refresh = not getattr(app, "skip_indexing", False)
    try:
        index = await open_index(app, embedder=embedder, refresh=refresh, console=console)
        try:
            answer = await answer_question(query, index=index, model=model, config=app.config)
        finally:
            await index.close()
    finally:
        await shared.aclose()
        if embedder is not None:
            await embedder.aclose()
    return strip_markdown_fence(answer)
