"""The configuration schema: every key of kwaak 0.16.2's ``kwaak.toml`` plus our own sections.

Models are immutable (``frozen``) and reject unknown keys (``extra="forbid"``). Field docstrings
double as the reference documentation (see ``docs/configuration.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kwaak.config.secrets import ApiKey

LANGUAGES: tuple[str, ...] = (
    "Rust",
    "Typescript",
    "Python",
    "Ruby",
    "Javascript",
    "Java",
    "Go",
    "Solidity",
    "C",
    "C++",
)
_LANGUAGE_ALIASES = {name.lower(): name for name in LANGUAGES} | {"cpp": "C++", "c++": "C++"}

Language = Literal["Rust", "Typescript", "Python", "Ruby", "Javascript", "Java", "Go", "Solidity", "C", "C++"]


def normalize_language(value: object) -> object:
    """Map case-insensitive names and the ``cpp`` alias to the canonical language name."""
    if isinstance(value, str):
        return _LANGUAGE_ALIASES.get(value.strip().lower(), value)
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------------------------
# LLM providers
# --------------------------------------------------------------------------------------------


class OllamaEmbeddingModel(_Model):
    """An Ollama embedding model; the vector size must be given."""

    name: str
    vector_size: int = Field(gt=0)


class OpenAIConfig(_Model):
    """OpenAI, or any OpenAI-compatible server through ``base_url`` (vLLM, LM Studio, llama.cpp)."""

    provider: Literal["OpenAI"]
    api_key: ApiKey | None = None
    prompt_model: str = "gpt-4o-mini"
    embedding_model: str = "text-embedding-3-large"
    base_url: str | None = None
    embedding_dimensions: int | None = Field(default=None, gt=0)
    """Vector size for embedding models we do not know (custom servers)."""


class AzureOpenAIConfig(_Model):
    """Azure OpenAI: ``base_url``, ``api_version`` and ``deployment_id`` are required to build a client."""

    provider: Literal["AzureOpenAI"]
    api_key: ApiKey | None = None
    prompt_model: str = "gpt-4o-mini"
    embedding_model: str = "text-embedding-3-large"
    base_url: str | None = None
    api_version: str | None = None
    deployment_id: str | None = None


class OllamaConfig(_Model):
    """A local Ollama server through its OpenAI-compatible endpoint."""

    provider: Literal["Ollama"]
    prompt_model: str | None = None
    embedding_model: OllamaEmbeddingModel | None = None
    base_url: str = "http://localhost:11434/v1"


class OpenRouterConfig(_Model):
    """OpenRouter (OpenAI-compatible). Cannot embed."""

    provider: Literal["OpenRouter"]
    api_key: ApiKey | None = None
    prompt_model: str = "anthropic/claude-3.5-sonnet"
    base_url: str = "https://openrouter.ai/api/v1"


class AnthropicConfig(_Model):
    """Anthropic's messages API. Cannot embed."""

    provider: Literal["Anthropic"]
    api_key: ApiKey | None = None
    prompt_model: str = "claude-3-7-sonnet-latest"
    base_url: str | None = None


class FastEmbedConfig(_Model):
    """Local, offline embeddings (kwaak's FastEmbed). Served by the ``local-embeddings`` extra."""

    provider: Literal["FastEmbed", "Local"]
    embedding_model: str = "all-MiniLM-L6-v2"


class ScriptedConfig(_Model):
    """A scripted model that needs no network (tests, demos, dry runs).

    Without ``script`` it answers every prompt with "Kwek" and stops agents immediately (like
    kwaak's ``Testing`` provider). ``script`` points to a JSON/JSONL file of responses.
    """

    provider: Literal["Scripted", "Testing"]
    script: Path | None = None
    prompt_model: str = "scripted"
    embedding_dimensions: int = Field(default=64, gt=0)
    delay_sec: float = Field(default=0.0, ge=0)
    """Artificial latency per request (benchmarks)."""


LLMConfig = Annotated[
    OpenAIConfig
    | AzureOpenAIConfig
    | OllamaConfig
    | OpenRouterConfig
    | AnthropicConfig
    | FastEmbedConfig
    | ScriptedConfig,
    Field(discriminator="provider"),
]

PROVIDERS: tuple[str, ...] = (
    "OpenAI",
    "AzureOpenAI",
    "Ollama",
    "OpenRouter",
    "Anthropic",
    "FastEmbed",
    "Local",
    "Scripted",
    "Testing",
)


class LLMConfigurations(_Model):
    """The three roles: ``indexing`` (small and fast), ``query`` (agents, answers), ``embedding``."""

    indexing: LLMConfig
    query: LLMConfig
    embedding: LLMConfig


# --------------------------------------------------------------------------------------------
# Other sections
# --------------------------------------------------------------------------------------------


class CommandConfig(_Model):
    """Project commands the agent may run."""

    test: str | None = None
    """Enables the ``run_tests`` tool."""
    coverage: str | None = None
    """Enables the ``run_coverage`` tool."""
    lint_and_fix: str | None = None
    """Runs after each completion when the worktree changed."""


class DockerConfig(_Model):
    """How to build the agents' container image."""

    dockerfile: Path = Path("Dockerfile")
    context: Path = Path(".")
    workdir: str = "/app"
    """Where the agent's worktree appears inside the container."""


class BackoffConfig(_Model):
    """Exponential backoff for remote LLM clients (every field has a default, unlike kwaak)."""

    initial_interval_sec: float = Field(default=15, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    randomization_factor: float = Field(default=0.05, ge=0, le=1)
    max_elapsed_time_sec: float = Field(default=120, ge=0)


class GitConfig(_Model):
    """Git and GitHub settings."""

    owner: str | None = None
    repository: str | None = None
    main_branch: str | None = None
    """Base branch for pull requests; detected from ``origin/HEAD`` when unset, else ``main``."""
    auto_push_remote: bool = True
    auto_commit_disabled: bool = False
    agent_user_name: str = "kwaak"
    agent_user_email: str = "kwaak@bosun.ai"
    generate_commit_message: bool = True
    remote: str = "origin"
    """The remote agents push to."""


class UIConfig(_Model):
    """Terminal UI settings."""

    hide_header: bool = False


class McpFilter(_Model):
    """Which tools of an MCP server to expose."""

    type: Literal["whitelist", "blacklist"]
    tool_names: tuple[str, ...] = ()


class McpServerConfig(_Model):
    """An MCP server: a subprocess over stdio (``command``) or streamable HTTP (``url``)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, ApiKey] | None = None
    url: str | None = None
    headers: dict[str, ApiKey] | None = None
    filter: McpFilter | None = None
    timeout_sec: float = Field(default=30, gt=0)

    @field_validator("env", mode="before")
    @classmethod
    def _env_pairs(cls, value: Any) -> Any:
        # kwaak typed env as a list of (name, secret) pairs; accept that and the inline table.
        if isinstance(value, list):
            return {str(pair[0]): pair[1] for pair in value if isinstance(pair, list | tuple) and len(pair) == 2}
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if bool(self.command) == bool(self.url):
            msg = f"mcp server {self.name!r} needs exactly one of `command` (stdio) or `url` (HTTP)"
            raise ValueError(msg)
        return self


class SandboxConfig(_Model):
    """The bubblewrap sandbox executor."""

    network: bool = False
    """Allow network access inside the sandbox."""


class Budget(_Model):
    """Limits; ``None`` means unlimited."""

    max_steps: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, gt=0)
    max_wall_time_sec: float | None = Field(default=None, gt=0)


class LimitsConfig(_Model):
    """Parallelism and budgets (ours)."""

    max_parallel_agents: int = Field(default=4, gt=0)
    """How many agents may run a turn at the same time."""
    agent: Budget = Budget()
    """Budget of each agent."""
    team: Budget = Budget()
    """Budget of all agents together."""
    tool_timeout_sec: float = Field(default=600, gt=0)
    """Timeout of one shell command run by a tool."""
    max_tool_output_chars: int = Field(default=40_000, gt=1000)
    """Tool outputs longer than this are truncated with a marker."""


class ModelPrice(_Model):
    """Price of a model in US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class PolicyRule(_Model):
    """A command policy rule: commands starting with ``prefix`` are allowed, prompted or forbidden."""

    prefix: str
    decision: Literal["allow", "prompt", "forbid"]
    reason: str | None = None


class PolicyConfig(_Model):
    """Optional rules for risky shell commands (off by default)."""

    rules: tuple[PolicyRule, ...] = ()
    headless_prompt: Literal["forbid", "allow"] = "forbid"
    """What a ``prompt`` decision becomes without a UI to ask."""


class WorkspaceConfig(_Model):
    """Per-agent git worktrees (ours)."""

    keep_worktrees: bool = False
    """Keep an agent's worktree and branch on disk after its chat is deleted."""


class IndexConfig(_Model):
    """Code index settings (ours)."""

    max_file_bytes: int = Field(default=1_000_000, gt=0)
    chunk_max_bytes: int = Field(default=2048, gt=100)
    downweight_non_code: bool = True
    """Rank docs, changelogs and tests below source files for code questions."""
    qa_metadata: bool = False
    """Ask the indexing model for Q&A metadata per chunk (kwaak's behaviour; costs tokens)."""


class GitHubConfig(_Model):
    """GitHub API settings (ours)."""

    api_base_url: str = "https://api.github.com"


class TavilyConfig(_Model):
    """Tavily web search settings (ours)."""

    base_url: str = "https://api.tavily.com"


ToolExecutor = Literal["docker", "sandbox", "local"]


class Config(_Model):
    """The whole, validated configuration."""

    project_name: str
    languages: tuple[Language, ...] = Field(alias="language", min_length=1)
    """Accepts ``language = "rust"`` or ``languages = ["rust", "python"]``."""
    llm: LLMConfigurations
    commands: CommandConfig
    git: GitConfig
    cache_dir: Path
    log_dir: Path
    agent: Literal["Coding", "PlanAct"] = "Coding"
    indexing_concurrency: int | None = Field(default=None, gt=0)
    indexing_batch_size: int | None = Field(default=None, gt=0)
    indexing_garbage_collection_enabled: bool = True
    docker: DockerConfig = DockerConfig()
    backoff: BackoffConfig = BackoffConfig()
    tavily_api_key: ApiKey | None = None
    github_api_key: ApiKey | None = None
    openai_api_key: ApiKey | None = None
    anthropic_api_key: ApiKey | None = None
    open_router_api_key: ApiKey | None = None
    azure_openai_api_key: ApiKey | None = None
    tool_executor: ToolExecutor = "docker"
    executor_fallback: bool = True
    """Fall back docker → sandbox → local (with a warning) when the configured executor cannot start."""
    tools: dict[str, bool] = Field(default_factory=dict)
    endless_mode: bool = False
    stop_on_empty_messages: bool = False
    otel_enabled: bool = False
    agent_edit_mode: Literal["patch", "whole", "line"] = "patch"
    agent_custom_constraints: tuple[str, ...] | None = None
    ui: UIConfig = UIConfig()
    num_completions_for_summary: int = Field(default=10, gt=0)
    mcp: tuple[McpServerConfig, ...] | None = None
    sandbox: SandboxConfig = SandboxConfig()
    limits: LimitsConfig = LimitsConfig()
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    policy: PolicyConfig = PolicyConfig()
    workspace: WorkspaceConfig = WorkspaceConfig()
    index: IndexConfig = IndexConfig()
    github: GitHubConfig = GitHubConfig()
    tavily: TavilyConfig = TavilyConfig()

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(normalize_language(v) for v in value)
        return value

    @field_validator("agent", mode="before")
    @classmethod
    def _agent_alias(cls, value: Any) -> Any:
        return "Coding" if value == "V1" else value

    @field_validator("tool_executor", mode="before")
    @classmethod
    def _executor_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def language(self) -> str:
        """The primary language (kwaak's ``language``)."""
        return self.languages[0]

    @property
    def main_branch(self) -> str:
        """The base branch for pull requests."""
        return self.git.main_branch or "main"

    def tool_enabled(self, name: str) -> bool:
        """Whether ``[tools]`` leaves the built-in tool ``name`` enabled."""
        return self.tools.get(name, True)

    def github_enabled(self) -> bool:
        """GitHub features need a token, an owner and a repository."""
        return bool(self.github_api_key and self.git.owner and self.git.repository)
