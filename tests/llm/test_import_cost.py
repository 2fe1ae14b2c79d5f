"""Importing kwaak.llm must not import the provider SDKs or ML libraries (startup time)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.fakes.provider_server import FakeProviderServer, reply, tool_call

PROGRAM = """
import sys
import kwaak.llm
heavy = [m for m in ("openai", "anthropic", "httpx2", "torch", "sentence_transformers", "numpy") if m in sys.modules]
print(",".join(heavy))
"""

MODEL_PATH = """
import asyncio, json, sys
from kwaak.config.model import AnthropicConfig, BackoffConfig, OpenAIConfig
from kwaak.config.secrets import ApiKey
from kwaak.llm import make_embedder, make_model
from kwaak.messages import ToolSpec, UserMessage

async def main():
    cfg = OpenAIConfig(provider="OpenAI", api_key=ApiKey("sk"), base_url={url!r} + "/v1",
                       prompt_model="qwen2.5-coder", embedding_model="text-embedding-3-small")
    model = make_model(cfg, backoff=BackoffConfig())
    await model.warm_up()
    streamed = await model.complete([UserMessage(content="hi")], tools=[ToolSpec(name="stop", description="s")],
                                    on_text_delta=lambda _: None)
    plain = await model.prompt("name this chat")
    vectors = await make_embedder(cfg, backoff=BackoffConfig()).embed(["code"])
    claude = make_model(AnthropicConfig(provider="Anthropic", api_key=ApiKey("sk-ant"), base_url={url!r},
                                        prompt_model="claude-3-5-haiku-latest"), backoff=BackoffConfig())
    assert (await claude.complete([UserMessage(content="hi")], on_text_delta=lambda _: None)).message.content
    heavy = [m for m in {heavy!r} if m in sys.modules]
    print(json.dumps([streamed.message.tool_calls[0].name, plain, len(vectors), heavy, await model.context_window()]))

asyncio.run(main())
"""
# (``ssl`` comes with asyncio and ``email`` with pydantic's plugin loader: not checked here.)
WIRE_MODULES = ("openai", "anthropic", "httpx", "httpx2", "httpcore", "httpcore2", "urllib.request", "certifi")


def test_import_kwaak_llm_is_light() -> None:
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""


def test_the_model_path_imports_no_sdk_no_httpx_and_no_ca_bundle_for_http() -> None:
    """Probe, stream, prompt, embed, and an Anthropic stream against a real server: no SDK, no httpx."""
    with FakeProviderServer(context_window=8192, reports_window="llamacpp", embedding_dimensions=1536) as srv:
        srv.enqueue(tool_call("stop"), reply("A title"))
        code = MODEL_PATH.format(url=srv.url, heavy=WIRE_MODULES)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    name, plain, count, heavy, window = json.loads(out.stdout)
    assert (name, plain, count, window) == ("stop", "A title", 1, 8192)
    assert heavy == []
