"""Where OpenAI-style requests go and what they carry, as the ``openai`` SDK built them."""

from __future__ import annotations

import openai
import pytest

from kwaak import __version__
from kwaak.config.model import BackoffConfig
from kwaak.llm import make_model
from kwaak.llm.openai_adapter import DEFAULT_BASE_URL, OpenAIClientSpec
from tests.fakes.provider_server import FakeProviderServer, reply
from tests.llm.helpers import azure_cfg, openai_cfg


async def test_headers_carry_key_user_agent_org_and_project(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-2")
    provider_server.enqueue(reply("hi"))
    model = make_model(openai_cfg(provider_server, context_window=8192), backoff=fast_backoff)
    assert await model.prompt("hello") == "hi"
    (request,) = provider_server.requests
    assert request.headers["authorization"] == "Bearer sk-openai-test"
    assert request.headers["user-agent"] == f"kwaak/{__version__}"
    assert (request.headers["openai-organization"], request.headers["openai-project"]) == ("org-1", "proj-2")
    assert request.headers["content-type"] == "application/json"


async def test_openai_base_url_from_the_environment_when_none_is_configured(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", provider_server.url + "/v1")
    provider_server.enqueue(reply("from env"))
    cfg = openai_cfg(provider_server).model_copy(update={"base_url": None})
    model = make_model(cfg, backoff=fast_backoff)
    assert await model.prompt("hello") == "from env"
    assert provider_server.requests[0].path == "/v1/chat/completions"


def test_default_base_url_is_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    spec = OpenAIClientSpec(api_key="k")
    assert spec.url("/chat/completions", "gpt-4o") == "https://api.openai.com/v1/chat/completions"
    assert str(openai.AsyncOpenAI(api_key="k").base_url).rstrip("/") == DEFAULT_BASE_URL


@pytest.mark.parametrize("deployment", ["my-deployment", None])
def test_azure_urls_match_the_sdk(deployment: str | None) -> None:
    """Our URL equals the one ``openai.AsyncAzureOpenAI`` sends (deployment, else the model's name)."""
    endpoint = "https://res.openai.azure.com/"
    spec = OpenAIClientSpec(
        kind="azure", api_key="k", base_url=endpoint, api_version="2024-10-21", deployment=deployment
    )
    client = openai.AsyncAzureOpenAI(
        azure_endpoint=endpoint, azure_deployment=deployment, api_version="2024-10-21", api_key="k"
    )
    from openai._models import FinalRequestOptions

    for path in ("/chat/completions", "/embeddings"):
        options = FinalRequestOptions.construct(method="post", url=path, json_data={"model": "gpt-4o-mini"})
        sent = client._build_request(options)
        assert spec.url(path, "gpt-4o-mini") == str(sent.url)
        assert sent.headers["api-key"] == "k"


async def test_azure_headers(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    provider_server.enqueue(reply("azure"))
    model = make_model(azure_cfg(provider_server, context_window=8192), backoff=fast_backoff)
    assert await model.prompt("hello") == "azure"
    (request,) = provider_server.requests
    assert request.headers["api-key"] == "azure-test-key" and "authorization" not in request.headers
