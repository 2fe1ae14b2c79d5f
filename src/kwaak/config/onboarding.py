"""Answers of ``kwaak init`` → a commented ``kwaak.toml`` that is validated before it is written.

The provider presets follow kwaak 0.16.2's onboarding, with its defects fixed: the OpenRouter key
is written (as ``open_router_api_key``), Ollama never gets an empty ``base_url``, and providers
without embeddings get the local ``FastEmbed`` embedder.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from kwaak.config.loader import validate_config
from kwaak.config.model import Config
from kwaak.errors import ConfigError

LOCAL_SERVER = "OpenAI-compatible server (llama.cpp, vLLM, LM Studio)"
"""The init choice for a self-hosted OpenAI-compatible server (written as ``provider = "OpenAI"`` + ``base_url``)."""
LOCAL_SERVER_URL = "http://127.0.0.1:8080/v1"
INIT_PROVIDERS = ("OpenAI", "Anthropic", "OpenRouter", "Ollama", LOCAL_SERVER, "AzureOpenAI", "Scripted")
PROVIDER_ALIASES = {
    "openai-compatible": LOCAL_SERVER,
    "llama.cpp": LOCAL_SERVER,
    "vllm": LOCAL_SERVER,
    "lmstudio": LOCAL_SERVER,
}
"""``--provider`` values that pick :data:`LOCAL_SERVER`."""
FASTEMBED_MODEL = "all-MiniLM-L6-v2"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ROOT_KEYS = (
    ("openai_api_key", "env:OPENAI_API_KEY"),
    ("anthropic_api_key", "env:ANTHROPIC_API_KEY"),
    ("open_router_api_key", "env:OPEN_ROUTER_API_KEY"),
    ("azure_openai_api_key", "env:AZURE_OPENAI_API_KEY"),
)
_COMMAND_EXAMPLES = (
    ("test", "<YOUR TEST COMMAND>, e.g. cargo test, pytest, npm test"),
    ("coverage", "<YOUR COVERAGE COMMAND>, e.g. cargo llvm-cov --summary-only, pytest --cov"),
    ("lint_and_fix", "<YOUR LINT COMMAND>, e.g. cargo clippy --fix --allow-dirty && cargo fmt, ruff check --fix ."),
)


@dataclass(frozen=True, slots=True)
class ProviderPreset:
    """Defaults offered for one provider."""

    root_key: str | None
    """The root-level secret the provider reads (None: no key)."""
    api_key: str | None
    indexing_model: str
    query_model: str
    embedding_model: str | None
    """``None``: the provider cannot embed; FastEmbed is used."""


PRESETS: dict[str, ProviderPreset] = {
    "OpenAI": ProviderPreset("openai_api_key", "env:OPENAI_API_KEY", "gpt-4o-mini", "gpt-4o", "text-embedding-3-large"),
    "Anthropic": ProviderPreset(
        "anthropic_api_key", "env:ANTHROPIC_API_KEY", "claude-3-5-haiku-latest", "claude-3-7-sonnet-latest", None
    ),
    "OpenRouter": ProviderPreset(
        "open_router_api_key", "env:OPEN_ROUTER_API_KEY", "openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet", None
    ),
    "Ollama": ProviderPreset(None, None, "llama3.2", "qwen2.5-coder", "bge-m3"),
    LOCAL_SERVER: ProviderPreset(None, None, "qwen2.5-coder", "qwen2.5-coder", None),
    "AzureOpenAI": ProviderPreset(
        "azure_openai_api_key", "env:AZURE_OPENAI_API_KEY", "gpt-4o-mini", "gpt-4o", "text-embedding-3-large"
    ),
    "Scripted": ProviderPreset(None, None, "scripted", "scripted", "scripted"),
}


@dataclass(kw_only=True)
class InitAnswers:
    """Everything the generated file depends on."""

    project_name: str
    languages: tuple[str, ...]
    provider: str
    api_key: str | None = None
    base_url: str | None = None
    azure_api_version: str | None = None
    azure_deployment: str | None = None
    indexing_model: str | None = None
    query_model: str | None = None
    embedding_model: str | None = None
    vector_size: int = 1024
    github_token: str | None = None
    auto_push: bool = False
    main_branch: str = "main"
    owner: str | None = None
    repository: str | None = None
    test_command: str | None = None
    coverage_command: str | None = None
    lint_command: str | None = None
    setup: tuple[str, ...] = ()
    """``[workspace] setup``: commands run once in each agent's new worktree."""
    notes: list[str] = field(default_factory=list)
    """What ``kwaak init`` prints after writing the file (e.g. commands it did not propose)."""
    executor: str = "local"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def preset(self) -> ProviderPreset:
        """The defaults of the chosen provider."""
        return PRESETS[self.provider]


def toml_value(value: Any) -> str:
    """A Python value as an inline TOML value (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{k if _BARE_KEY.match(k) else json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    msg = f"cannot write {type(value).__name__} as TOML"
    raise TypeError(msg)


def _llm_tables(a: InitAnswers) -> list[tuple[str, list[tuple[str, Any]], str]]:
    preset = a.preset
    chat_extra: list[tuple[str, Any]] = []
    base_url = a.base_url or (LOCAL_SERVER_URL if a.provider == LOCAL_SERVER else None)
    if base_url and a.provider in ("OpenAI", "Ollama", "AzureOpenAI", LOCAL_SERVER):
        chat_extra.append(("base_url", base_url))
    if a.provider == "AzureOpenAI":
        chat_extra += [("api_version", a.azure_api_version or "2024-10-21"), ("deployment_id", a.azure_deployment)]
    provider = "OpenAI" if a.provider == LOCAL_SERVER else a.provider
    indexing = [("provider", provider), ("prompt_model", a.indexing_model or preset.indexing_model), *chat_extra]
    query = [("provider", provider), ("prompt_model", a.query_model or preset.query_model), *chat_extra]
    if a.provider == "Scripted":
        indexing, query = [("provider", "Scripted")], [("provider", "Scripted")]
    return [
        ("indexing", indexing, "The small, fast model: chat titles, branch names, commit messages, summaries."),
        ("query", query, "The strong model the agents use (it must support tool calls)."),
        ("embedding", _embedding_table(a, chat_extra), _embedding_comment(a)),
    ]


def _embedding_table(a: InitAnswers, chat_extra: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    if a.provider == "Scripted":
        return [("provider", "Scripted")]
    if a.provider == "Ollama":
        model = {"name": a.embedding_model or "bge-m3", "vector_size": a.vector_size}
        return [("provider", "Ollama"), ("embedding_model", model), *chat_extra]
    if a.preset.embedding_model is None:
        return [("provider", "FastEmbed"), ("embedding_model", a.embedding_model or FASTEMBED_MODEL)]
    return [("provider", a.provider), ("embedding_model", a.embedding_model or a.preset.embedding_model), *chat_extra]


def _embedding_comment(a: InitAnswers) -> str:
    if a.provider != "Scripted" and a.preset.embedding_model is None:
        return (
            f"{a.provider} has no embeddings API: the code index uses a local model instead\n"
            "## (install the `local-embeddings` extra; without it the index is lexical only)."
        )
    return "The embedding model of the code index."


def render_init(a: InitAnswers) -> str:
    """Render ``template.toml.j2`` with the answers."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["toml"] = toml_value
    secrets = {a.preset.root_key: a.api_key or a.preset.api_key} if a.preset.root_key else {}
    values = (a.test_command, a.coverage_command, a.lint_command)
    commands = [(key, value, example) for (key, example), value in zip(_COMMAND_EXAMPLES, values, strict=True)]
    return env.get_template("template.toml.j2").render(
        project_name=a.project_name,
        languages=list(a.languages),
        root_keys=_ROOT_KEYS,
        secrets=secrets,
        github_token=a.github_token,
        executor=a.executor,
        commands=commands,
        setup=list(a.setup),
        main_branch=a.main_branch,
        owner=a.owner,
        repository=a.repository,
        auto_push=a.auto_push,
        llm=_llm_tables(a),
    )


def check_rendered(text: str, root: Path, *, path: Path) -> Config:
    """Validate a generated file as ``kwaak`` would load it (secret syntax only, not values).

    Raises:
        ConfigError: the file does not parse or validate (a bug or a bad answer).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"the generated configuration is not valid TOML: {exc}"
        raise ConfigError(msg, hint="please report this as a bug") from exc
    try:
        return validate_config(data, root=root, resolve_secrets=False)
    except ConfigError as exc:
        msg = f"the generated {path.name} would not load: {exc.message.removeprefix('config: ')}"
        raise ConfigError(msg, hint=exc.hint) from exc
