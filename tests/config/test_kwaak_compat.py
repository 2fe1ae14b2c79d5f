"""Config files as kwaak 0.16.2's `init` template produced them load unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kwaak.config import load_config, render_config
from kwaak.config.providers import FastEmbedConfig, OllamaConfig, OpenAIConfig

FIXTURES = Path(__file__).parent / "fixtures"
ENV = {
    "OPENAI_API_KEY": "sk-openai-sentinel",
    "ANTHROPIC_API_KEY": "sk-ant-sentinel",
    "OPEN_ROUTER_API_KEY": "sk-or-sentinel",
    "GITHUB_TOKEN": "ghp-sentinel",
}


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("kwaak-0.16.2-*.toml")))
def test_kwaak_0_16_2_files_load_and_render_masked(name: str, tmp_git_repo: Path) -> None:
    shutil.copy(FIXTURES / name, tmp_git_repo / "kwaak.toml")
    config = load_config(tmp_git_repo, environ=ENV)
    text = render_config(config)
    assert "ApiKey(****)" in text or "api_key" not in text
    for secret in (*ENV.values(), "azure-secret", "ghp_full", "tvly-full", "mcp-secret"):
        assert secret not in text
        assert secret not in repr(config)


def test_openai_template(tmp_git_repo: Path) -> None:
    shutil.copy(FIXTURES / "kwaak-0.16.2-openai.toml", tmp_git_repo / "kwaak.toml")
    config = load_config(tmp_git_repo, environ=ENV)
    assert config.languages == ("Rust",)
    assert config.main_branch == "master"
    assert isinstance(config.llm.query, OpenAIConfig)
    assert config.llm.query.prompt_model == "gpt-4o"
    assert config.llm.query.api_key is not None and config.llm.query.api_key.reveal() == "sk-openai-sentinel"
    assert config.github_api_key is not None and config.github_api_key.reveal() == "ghp-sentinel"
    assert config.github_enabled()


def test_ollama_inline_embedding_and_empty_base_url(tmp_git_repo: Path) -> None:
    shutil.copy(FIXTURES / "kwaak-0.16.2-ollama.toml", tmp_git_repo / "kwaak.toml")
    config = load_config(tmp_git_repo, environ={})
    embedding = config.llm.embedding
    assert isinstance(embedding, OllamaConfig)
    assert embedding.embedding_model is not None
    assert (embedding.embedding_model.name, embedding.embedding_model.vector_size) == ("bge-m3", 1024)
    assert embedding.base_url == "http://localhost:11434/v1"
    assert config.effective_indexing_batch_size == 256


def test_fastembed_and_openrouter(tmp_git_repo: Path) -> None:
    shutil.copy(FIXTURES / "kwaak-0.16.2-openrouter.toml", tmp_git_repo / "kwaak.toml")
    config = load_config(tmp_git_repo, environ=ENV)
    assert isinstance(config.llm.embedding, FastEmbedConfig)
    assert config.llm.query.provider == "OpenRouter"
    assert config.effective_indexing_batch_size == 12


def test_every_kwaak_key(tmp_git_repo: Path) -> None:
    shutil.copy(FIXTURES / "kwaak-0.16.2-full.toml", tmp_git_repo / "kwaak.toml")
    config = load_config(tmp_git_repo, environ=ENV)
    assert config.agent == "Coding"
    assert config.cache_dir == Path("/tmp/kwaak-compat-cache/kwaak/everything")
    assert config.log_dir == Path("/tmp/kwaak-compat-cache/kwaak/logs/everything")
    assert config.effective_indexing_concurrency == 8
    assert config.tool_enabled("run_tests") and not config.tool_enabled("search_web")
    assert config.agent_custom_constraints == ("Never use unwrap", "Write tests")
    assert config.backoff.multiplier == 1.5
    assert config.git.agent_user_name == "bot" and config.git.auto_commit_disabled
    assert config.mcp is not None and config.mcp[0].env is not None
    assert config.mcp[0].env["API_TOKEN"].reveal() == "mcp-secret"
    assert config.llm.indexing.provider == "AzureOpenAI"
    assert config.ui.hide_header and config.endless_mode and config.stop_on_empty_messages
