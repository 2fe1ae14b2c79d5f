"""The configuration schema: every key of kwaak 0.16.2's ``kwaak.toml`` plus our own sections.

Models are immutable (``frozen``) and reject unknown keys (``extra="forbid"``). Field docstrings
double as the reference documentation (see ``docs/configuration.md``).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kwaak.config.base import ConfigModel as _Model
from kwaak.config.cluster import ClusterConfig
from kwaak.config.providers import (
    PROVIDERS,
    AnthropicConfig,
    AzureOpenAIConfig,
    ChatModelLimits,
    FastEmbedConfig,
    LLMConfig,
    LLMConfigurations,
    OllamaConfig,
    OllamaEmbeddingModel,
    OpenAIConfig,
    OpenRouterConfig,
    ScriptedConfig,
)
from kwaak.config.secrets import ApiKey

__all__ = [
    "BUILTIN_TOOL_NAMES",
    "LANGUAGES",
    "PROVIDERS",
    "AnthropicConfig",
    "AzureOpenAIConfig",
    "ChatModelLimits",
    "Config",
    "FastEmbedConfig",
    "LLMConfig",
    "LLMConfigurations",
    "OllamaConfig",
    "OllamaEmbeddingModel",
    "OpenAIConfig",
    "OpenRouterConfig",
    "ScriptedConfig",
]

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

BUILTIN_TOOL_NAMES: tuple[str, ...] = (
    "shell_command",
    "read_file",
    "read_file_with_line_numbers",
    "write_file",
    "search_file",
    "git",
    "reset_file",
    "search_code",
    "explain_code",
    "create_or_update_pull_request",
    "run_tests",
    "run_coverage",
    "search_web",
    "github_search_code",
    "fetch_url",
    "add_lines",
    "replace_lines",
    "patch_file",
    "stop",
    "delegate_coding_agent",
)
"""Names accepted in ``[tools]`` (kwaak 0.16.2's built-in tools plus ``stop`` and PlanAct's delegate tool)."""


def normalize_language(value: object) -> object:
    """Map case-insensitive names and the ``cpp`` alias to the canonical language name."""
    if isinstance(value, str):
        return _LANGUAGE_ALIASES.get(value.strip().lower(), value)
    return value


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
    """The Dockerfile the agents' image is built from (relative to the repository root)."""
    context: Path = Path()
    """The build context."""
    workdir: str = "/app"
    """Where the agent's worktree appears inside the container."""
    shared_cache: bool = True
    """Mount a named volume ``kwaak-<project>-cache`` at ``/kwaak-cache`` in every agent's container and point
    pip, uv, npm, yarn (and cargo, unless the image sets ``CARGO_HOME``) at it, so ``[workspace] setup`` downloads
    once per project. Agents of a project share it."""
    network: bool = False
    """Give the agents' containers a network (docker's default bridge); off: ``--network none``."""


class BackoffConfig(_Model):
    """Exponential backoff for remote LLM clients (every field has a default, unlike kwaak)."""

    initial_interval_sec: float = Field(default=15, ge=0)
    """First wait after a rate limit or transient failure."""
    multiplier: float = Field(default=2.0, ge=1)
    """Each wait is this much longer than the previous one."""
    randomization_factor: float = Field(default=0.05, ge=0, le=1)
    """Jitter, as a fraction of the wait."""
    max_elapsed_time_sec: float = Field(default=120, ge=0)
    """Give up after retrying this long."""


class GitConfig(_Model):
    """Git and GitHub settings."""

    owner: str | None = None
    """GitHub owner (user or organisation); ``kwaak init`` fills it from the origin URL."""
    repository: str | None = None
    """GitHub repository name."""
    main_branch: str | None = None
    """Base branch for pull requests; detected from ``origin/HEAD`` when unset, else ``main``."""
    auto_push_remote: bool = True
    """Push the agent's branch after each completion (needs a GitHub token)."""
    auto_commit_disabled: bool = False
    """Do not commit the agent's changes after each completion."""
    agent_user_name: str = "kwaak"
    """Git author name of the agents' commits."""
    agent_user_email: str = "kwaak@bosun.ai"
    """Git author email of the agents' commits."""
    generate_commit_message: bool = True
    """Let the indexing model write conventional commit messages (else a fixed message). The step commits at
    once with the fixed message and the commit is reworded when the generated one arrives (the agent never
    waits for it; with `auto_push_remote` the push waits for the message; if kwaak stops first, the fixed
    message stays)."""
    remote: str = "origin"
    """The remote agents push to."""
    clone_repository_on_start: bool = False
    """kwaak 0.19's switch; ``true`` means ``[workspace] start_from = "origin"`` (a fresh ``origin/<main>``)."""


class UIConfig(_Model):
    """Terminal UI settings."""

    hide_header: bool = False
    """Hide the header bar of the TUI."""
    bell: bool = False
    """Ring the terminal bell when a chat finishes, fails or waits for your approval."""
    notifications: Literal["off", "osc9", "osc777"] = "off"
    """Desktop notification for the same moments: ``osc9`` (iTerm2, WezTerm, Windows Terminal, kitty,
    ghostty) or ``osc777`` (foot, urxvt, konsole, VTE terminals); passed through tmux."""


class McpFilter(_Model):
    """Which tools of an MCP server to expose."""

    type: Literal["whitelist", "blacklist"]
    """``whitelist`` exposes only ``tool_names``; ``blacklist`` hides them."""
    tool_names: tuple[str, ...] = ()
    """The MCP tool names the filter applies to."""


class McpServerConfig(_Model):
    """An MCP server: a subprocess over stdio (``command``) or streamable HTTP (``url``)."""

    name: str
    """A name for the server (shown in ``list-tools``)."""
    command: str | None = None
    """The program to start (stdio transport)."""
    args: tuple[str, ...] = ()
    """Arguments of ``command``."""
    env: dict[str, ApiKey] | None = None
    """Environment of the server; values are secrets. An inline table or kwaak's list of pairs."""
    url: str | None = None
    """The endpoint of a streamable-HTTP server (instead of ``command``)."""
    headers: dict[str, ApiKey] | None = None
    """HTTP headers for ``url``; values are secrets."""
    filter: McpFilter | None = None
    """Which of the server's tools to expose."""
    timeout_sec: float = Field(default=30, gt=0)
    """Timeout of one MCP tool call, and of the server's start-up (``initialize`` and ``tools/list``)."""

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


class WebConfig(_Model):
    """Host-side web access of the agents' ``fetch_url`` tool (ours)."""

    allow_private_networks: tuple[str, ...] = ()
    """Networks (CIDR, e.g. ``"10.1.2.0/24"``, or single addresses) that ``fetch_url`` may reach although
    they are loopback, private or link-local; by default only public addresses are fetched."""

    @field_validator("allow_private_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                msg = f"{item!r} is not an IP network (use CIDR such as '192.168.1.0/24' or an address)"
                raise ValueError(msg) from None
        return value


class Budget(_Model):
    """Limits; ``None`` means unlimited."""

    max_steps: int | None = Field(default=None, gt=0)
    """Model requests of the agent loop (reserved before each request: parallel agents never overshoot)."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Input plus output tokens (each request holds its estimated input while in flight: parallel agents
    overshoot by one request at most, as one agent does)."""
    max_cost_usd: float | None = Field(default=None, gt=0)
    """Cost in US dollars; every model call counts. A model without a price (``[prices]``) is an error.
    Requests in flight hold their estimated input cost, as for ``max_tokens``."""
    max_wall_time_sec: float | None = Field(default=None, gt=0)
    """Wall-clock time of the agent's turns; a running tool call is cancelled when it runs out."""


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
    llm_timeout_sec: float = Field(default=300, gt=0)
    """Timeout of one request to an LLM or embedding provider."""
    max_read_file_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    """File tools refuse to read files larger than this (checked before reading)."""
    file_timeout_sec: float = Field(default=30, gt=0)
    """Timeout of one host-side file operation of a tool (read, write)."""
    file_workers_per_agent: int = Field(default=2, gt=0)
    """How many host-side file operations of one agent may run at once."""
    max_command_output_bytes: int = Field(default=16 * 1024 * 1024, ge=65536)
    """Command output kept while a command runs (head and tail; the middle is dropped as it streams)."""
    max_processes: int | None = Field(default=1024, gt=0)
    """New processes of one agent: docker ``--pids-limit``; sandbox ``RLIMIT_NPROC`` (not enforced for root)."""
    max_memory_mb: int | None = Field(default=4096, gt=0)
    """Memory of one agent's commands: docker ``--memory`` (no swap); sandbox ``RLIMIT_AS`` (address space)."""
    max_file_size_mb: int | None = Field(default=4096, gt=0)
    """Largest file an agent's command may write (``RLIMIT_FSIZE`` in the sandbox and containers)."""
    container_capabilities: tuple[str, ...] = ()
    """Linux capabilities given back to agent containers (all are dropped), e.g. ``["CHOWN", "SETUID"]``."""
    idle_exit_code: int = Field(default=4, ge=0, le=125)
    """Headless exit code of an agent that ended idle, without calling ``stop`` (0 counts it as success)."""


class ModelPrice(_Model):
    """Price of a model in US dollars per million tokens."""

    input: float = Field(ge=0)
    """Dollars per million input tokens."""
    output: float = Field(ge=0)
    """Dollars per million output tokens."""
    cached_input: float | None = Field(default=None, ge=0)
    """Dollars per million cached input tokens (defaults to ``input``)."""


class PolicyRule(_Model):
    """A command policy rule: commands starting with ``prefix`` are allowed, prompted or forbidden."""

    prefix: str
    """Commands starting with this text (after whitespace normalisation) match."""
    decision: Literal["allow", "prompt", "forbid"]
    """What happens to a matching command."""
    reason: str | None = None
    """Shown to the user and the model."""


class PolicyConfig(_Model):
    """Optional rules for risky shell commands (off by default)."""

    rules: tuple[PolicyRule, ...] = ()
    """Rules, first match wins; commands matching no rule are allowed."""
    headless_prompt: Literal["forbid", "allow"] = "forbid"
    """What a ``prompt`` decision becomes without a UI to ask."""


StartFrom = Literal["head", "main", "origin"]
PythonEnv = Literal["auto", "venv", "pythonpath", "off"]


def normalize_start_from(value: object) -> object:
    """``HEAD``/``head``, ``main``, ``origin`` or ``origin/<branch>`` (any remote-tracking form) → a StartFrom."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text.startswith("origin/"):
        return "origin"
    return text


class WorkspaceConfig(_Model):
    """Per-agent git worktrees and the environment agents' commands run in (ours)."""

    keep_worktrees: bool = False
    """Keep an agent's worktree and branch on disk after its chat is deleted."""
    start_from: StartFrom | None = None
    """Where agents' branches start: ``head`` (your checkout's HEAD), ``main`` (the local ``git.main_branch``)
    or ``origin`` (``<git.remote>/<main_branch>``, fetched first). Default ``head``, or ``origin`` with
    kwaak 0.19's ``git.clone_repository_on_start = true``."""
    setup: tuple[str, ...] = ()
    """Shell commands run once in each new worktree, inside the agent's executor, before the agent starts
    (e.g. ``["uv sync"]`` or ``["npm ci"]``); output is shown in the chat, a failure is shown and told to the agent."""
    setup_timeout_sec: float = Field(default=900, gt=0)
    """Timeout of each ``setup`` command."""
    copy_files: tuple[str, ...] = Field(default=(), alias="copy")
    """Globs of untracked, git-ignored files copied from your checkout into each new worktree (e.g. ``[".env"]``).
    Only regular files inside the checkout are copied; symbolic links leaving it are refused."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables for the agents' commands (and ``setup``)."""
    python: PythonEnv = "auto"
    """Python imports from the worktree: ``auto`` uses a ``.venv`` that ``setup`` made in the worktree, else puts the
    worktree's packages first on ``PYTHONPATH`` when they would be imported from elsewhere (an editable install of
    your checkout); ``venv`` makes ``<worktree>/.venv`` and installs the project (``uv`` when available, else
    ``python3 -m venv`` + pip) before ``setup``; ``pythonpath`` always puts the worktree first; ``off`` does nothing."""

    health_check: bool = True
    """Show at each agent's start what ``python3``, ``node`` and the test program resolve to in its environment,
    and warn when its tests would import code from outside the worktree."""

    @field_validator("start_from", mode="before")
    @classmethod
    def _start_from(cls, value: Any) -> Any:
        return normalize_start_from(value)

    @field_validator("copy_files")
    @classmethod
    def _relative_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            parts = Path(pattern).parts
            if not pattern.strip() or Path(pattern).is_absolute() or ".." in parts or ".git" in parts:
                msg = f"copy pattern {pattern!r} must be relative to the repository, without `..` or `.git`"
                raise ValueError(msg)
        return value


class IndexConfig(_Model):
    """Code index settings (ours)."""

    max_file_bytes: int = Field(default=1_000_000, gt=0)
    """Files larger than this are not indexed."""
    chunk_max_bytes: int = Field(default=2048, gt=100)
    """Largest chunk of code stored in the index."""
    downweight_non_code: bool = True
    """Rank docs, changelogs and tests below source files for code questions."""
    qa_metadata: bool = False
    """Ask the indexing model for Q&A metadata per chunk (kwaak's behaviour; costs tokens)."""
    rerank: bool = False
    """File searches ask the query model to reorder their top files (one model call per search)."""
    rerank_top: int = Field(default=20, ge=2, le=100)
    """How many of the best files the query model reorders."""


class GitHubConfig(_Model):
    """GitHub API settings (ours), and GitHub App authentication (kwaak 0.19)."""

    api_base_url: str = "https://api.github.com"
    """GitHub REST API endpoint (GitHub Enterprise: ``https://HOST/api/v3``)."""
    app_id: int | None = Field(default=None, gt=0)
    """Authenticate as this GitHub App (with ``app_private_key``) when ``github_api_key`` is not set."""
    app_private_key: ApiKey | None = None
    """Secret; the app's PEM private key, e.g. ``"file:~/.config/kwaak/app.pem"`` or ``"env:GITHUB_APP_KEY"``."""
    installation_id: int | None = Field(default=None, gt=0)
    """The app's installation; default: looked up for ``git.owner/git.repository``."""

    @model_validator(mode="after")
    def _app_complete(self) -> GitHubConfig:
        if (self.app_id is None) != (self.app_private_key is None):
            msg = "a GitHub App needs both `app_id` and `app_private_key`"
            raise ValueError(msg)
        return self

    @property
    def app_configured(self) -> bool:
        """Whether GitHub App authentication is set up."""
        return self.app_id is not None and self.app_private_key is not None


class TavilyConfig(_Model):
    """Tavily web search settings (ours)."""

    base_url: str = "https://api.tavily.com"
    """Tavily API endpoint."""


ToolExecutor = Literal["docker", "sandbox", "local"]
_REMOTE_PROVIDERS = frozenset({"OpenAI", "AzureOpenAI", "OpenRouter", "Anthropic"})


class Config(_Model):
    """The whole, validated configuration."""

    project_name: str = Field(max_length=100)
    """Defaults to the origin's repository name, else the directory name. Names caches, logs and images."""
    languages: tuple[Language, ...] = Field(alias="language", min_length=1)
    """``language = "rust"`` or ``languages = ["rust", "python"]`` (case-insensitive; ``cpp`` is C++)."""
    llm: LLMConfigurations
    """The ``[llm.indexing]``, ``[llm.query]`` and ``[llm.embedding]`` provider tables."""
    commands: CommandConfig = CommandConfig()
    """Project commands (``[commands]``)."""
    git: GitConfig = GitConfig()
    """Git and GitHub settings (``[git]``)."""
    cache_dir: Path
    """Index, sessions and worktrees; default ``<user cache dir>/kwaak/<project>``."""
    log_dir: Path
    """Log files; default ``<user cache dir>/kwaak/logs/<project>``."""
    agent: Literal["Coding", "PlanAct"] = "Coding"
    """``Coding`` (alias ``V1``) or ``PlanAct`` (a planner that delegates to a coding agent)."""
    indexing_concurrency: int | None = Field(default=None, gt=0)
    """Parallel embedding and Q&A requests; default (by the indexing provider, as kwaak): 4×CPUs remote, CPUs local."""
    indexing_batch_size: int | None = Field(default=None, gt=0)
    """Chunks per embedding request; default (by the indexing provider, as kwaak): 12 remote, 256 local."""
    indexing_garbage_collection_enabled: bool = True
    """Remove index entries of files that were deleted or became ignored, binary or too big (``false`` keeps them)."""
    docker: DockerConfig = DockerConfig()
    """How the docker executor builds its image (``[docker]``)."""
    backoff: BackoffConfig = BackoffConfig()
    """Retry policy of remote LLM clients (``[backoff]``)."""
    tavily_api_key: ApiKey | None = None
    """Secret; enables the ``search_web`` tool."""
    github_api_key: ApiKey | None = None
    """Secret; enables pull requests, GitHub code search, pushing and ``/github fix``."""
    openai_api_key: ApiKey | None = None
    """Secret; used by ``OpenAI`` llm tables without their own ``api_key``."""
    anthropic_api_key: ApiKey | None = None
    """Secret; used by ``Anthropic`` llm tables without their own ``api_key``."""
    open_router_api_key: ApiKey | None = None
    """Secret; used by ``OpenRouter`` llm tables without their own ``api_key``."""
    azure_openai_api_key: ApiKey | None = None
    """Secret; used by ``AzureOpenAI`` llm tables without their own ``api_key``."""
    tool_executor: ToolExecutor = "docker"
    """Where agents run commands: ``docker``, ``sandbox`` (bubblewrap) or ``local``."""
    executor_fallback: bool = True
    """Fall back docker → sandbox → local (with a warning) when the configured executor cannot start."""
    tools: dict[str, bool] = Field(default_factory=dict)
    """``tool_name = false`` removes a built-in tool (``true`` cannot add one)."""
    endless_mode: bool = False
    """Keep the agent going after it answers without tool calls (``run-agent`` forces it on)."""
    stop_on_empty_messages: bool = False
    """In endless mode, stop when the model returns an empty message."""
    otel_enabled: bool = False
    """Export OpenTelemetry traces (needs the ``otel`` extra; ``OTEL_*`` variables configure it)."""
    agent_edit_mode: Literal["patch", "whole", "line"] = "patch"
    """File editing tools: ``patch`` (patch_file), ``line`` (add_lines/replace_lines) or ``whole`` (write_file)."""
    agent_custom_constraints: tuple[str, ...] | None = None
    """Extra constraints appended to the agent's system prompt."""
    ui: UIConfig = UIConfig()
    """TUI settings (``[ui]``)."""
    num_completions_for_summary: int | None = Field(default=None, gt=0)
    """Also summarize every N completions (kwaak's way); by default kwaak compacts only near the context window."""
    mcp: tuple[McpServerConfig, ...] | None = None
    """MCP servers (``[[mcp]]``) whose tools are given to agents."""
    sandbox: SandboxConfig = SandboxConfig()
    """The bubblewrap executor (``[sandbox]``)."""
    limits: LimitsConfig = LimitsConfig()
    """Parallelism and budgets (``[limits]``)."""
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Model prices for cost accounting, ``[prices."gpt-4o"] input = 2.5 output = 10``."""
    policy: PolicyConfig = PolicyConfig()
    """Command policy (``[policy]``)."""
    workspace: WorkspaceConfig = WorkspaceConfig()
    """Per-agent worktrees (``[workspace]``)."""
    index: IndexConfig = IndexConfig()
    """Code index (``[index]``)."""
    github: GitHubConfig = GitHubConfig()
    """GitHub API (``[github]``)."""
    tavily: TavilyConfig = TavilyConfig()
    """Tavily API (``[tavily]``)."""
    web: WebConfig = WebConfig()
    """Host-side web access of ``fetch_url`` (``[web]``)."""
    cluster: ClusterConfig = ClusterConfig()
    """``kwaak batch --cluster``: the Ray cluster and each task's resources (``[cluster]``)."""

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

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(BUILTIN_TOOL_NAMES))
        if unknown:
            msg = f"unknown tool {unknown[0]!r}; known tools: {', '.join(BUILTIN_TOOL_NAMES)}"
            raise ValueError(msg)
        return value

    @property
    def effective_indexing_concurrency(self) -> int:
        """``indexing_concurrency``, else kwaak's default for the indexing provider."""
        if self.indexing_concurrency is not None:
            return self.indexing_concurrency
        cpus = os.cpu_count() or 1
        return 4 * cpus if self.llm.indexing.provider in _REMOTE_PROVIDERS else cpus

    @property
    def effective_indexing_batch_size(self) -> int:
        """``indexing_batch_size``, else 12 for remote providers and 256 for local ones."""
        if self.indexing_batch_size is not None:
            return self.indexing_batch_size
        return 12 if self.llm.indexing.provider in _REMOTE_PROVIDERS else 256

    @property
    def language(self) -> str:
        """The primary language (kwaak's ``language``)."""
        return self.languages[0]

    @property
    def start_from(self) -> StartFrom:
        """``workspace.start_from``, else ``origin`` with ``git.clone_repository_on_start``, else ``head``."""
        if self.workspace.start_from is not None:
            return self.workspace.start_from
        return "origin" if self.git.clone_repository_on_start else "head"

    @property
    def main_branch(self) -> str:
        """The base branch for pull requests."""
        return self.git.main_branch or "main"

    def tool_enabled(self, name: str) -> bool:
        """Whether ``[tools]`` leaves the built-in tool ``name`` enabled."""
        return self.tools.get(name, True)

    def github_enabled(self) -> bool:
        """GitHub features need a token, an owner and a repository."""
        return bool((self.github_api_key or self.github.app_configured) and self.git.owner and self.git.repository)
