"""The questions of ``kwaak init``, asked through a :class:`Prompter`.

One code path serves both modes: :class:`QuestionaryPrompter` asks in the terminal, and
:class:`DefaultsPrompter` (``--yes``) answers every question with its default, so scripted runs get
exactly what an interactive user gets by pressing Enter. Questions answered by command-line flags
are not asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kwaak.config.detect import ProjectFacts, detect_commands
from kwaak.config.model import LANGUAGES, normalize_language
from kwaak.config.onboarding import (
    INIT_PROVIDERS,
    LOCAL_SERVER,
    LOCAL_SERVER_URL,
    PRESETS,
    PROVIDER_ALIASES,
    InitAnswers,
)
from kwaak.config.setup_detect import detect_setup, missing_program
from kwaak.errors import UsageError

Validator = Callable[[str], str | None]
"""Returns an error message, or ``None`` when the answer is fine."""
EXECUTORS = ("docker", "sandbox", "local")


class Prompter(Protocol):
    """Asks the user; every method returns the answer."""

    def text(self, message: str, *, default: str, flag: str, validate: Validator | None = None) -> str:
        """A free-text answer (``flag`` names the option that answers it without asking)."""
        ...

    def select(self, message: str, choices: Sequence[str], *, default: str, flag: str) -> str:
        """One of ``choices``."""
        ...

    def checkbox(self, message: str, choices: Sequence[str], *, checked: Sequence[str], flag: str) -> list[str]:
        """Any of ``choices``."""
        ...

    def confirm(self, message: str, *, default: bool, flag: str) -> bool:
        """Yes or no."""
        ...

    def note(self, message: str) -> None:
        """Explain something (no answer)."""
        ...


class DefaultsPrompter:
    """``--yes``: every question takes its default; an invalid default is a usage error."""

    def text(self, message: str, *, default: str, flag: str, validate: Validator | None = None) -> str:
        """The default, if valid."""
        problem = validate(default) if validate else None
        if problem:
            msg = f"{message.rstrip(':?')}: {problem}"
            raise UsageError(msg, hint=f"pass {flag}")
        return default

    def select(self, message: str, choices: Sequence[str], *, default: str, flag: str) -> str:
        """The default."""
        return default

    def checkbox(self, message: str, choices: Sequence[str], *, checked: Sequence[str], flag: str) -> list[str]:
        """The pre-checked choices (at least one)."""
        if not checked:
            msg = f"{message.rstrip(':?')}: nothing detected"
            raise UsageError(msg, hint=f"pass {flag}")
        return list(checked)

    def confirm(self, message: str, *, default: bool, flag: str) -> bool:
        """The default."""
        return default

    def note(self, message: str) -> None:
        """Nothing to explain without a user."""


class QuestionaryPrompter:
    """Asks in the terminal with questionary; Ctrl-C raises ``KeyboardInterrupt``."""

    def text(self, message: str, *, default: str, flag: str, validate: Validator | None = None) -> str:
        """A text prompt with a default."""
        import questionary

        check = (lambda v: validate(v) or True) if validate else None
        return str(questionary.text(message, default=default, validate=check).unsafe_ask()).strip()

    def select(self, message: str, choices: Sequence[str], *, default: str, flag: str) -> str:
        """A select list."""
        import questionary

        return str(questionary.select(message, choices=list(choices), default=default).unsafe_ask())

    def checkbox(self, message: str, choices: Sequence[str], *, checked: Sequence[str], flag: str) -> list[str]:
        """A multi-select list; at least one item."""
        import questionary

        items = [questionary.Choice(c, checked=c in checked) for c in choices]
        answer = questionary.checkbox(message, choices=items, validate=lambda v: bool(v) or "choose at least one")
        return [str(v) for v in answer.unsafe_ask()]

    def confirm(self, message: str, *, default: bool, flag: str) -> bool:
        """A yes/no question."""
        import questionary

        return bool(questionary.confirm(message, default=default).unsafe_ask())

    def note(self, message: str) -> None:
        """Print an explanation."""
        import questionary

        questionary.print(message, style="italic")


@dataclass(kw_only=True)
class InitFlags:
    """Answers given on the command line (``None``: ask)."""

    project_name: str | None = None
    languages: tuple[str, ...] = ()
    main_branch: str | None = None
    provider: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    azure_api_version: str | None = None
    azure_deployment: str | None = None
    indexing_model: str | None = None
    query_model: str | None = None
    embedding_model: str | None = None
    vector_size: int | None = None
    github_token: str | None = None
    auto_push: bool | None = None
    test_command: str | None = None
    coverage_command: str | None = None
    lint_command: str | None = None
    setup_command: str | None = None
    executor: str | None = None


def secret_problem(value: str) -> str | None:
    """Secrets in ``kwaak.toml`` must be ``env:`` or ``file:`` references (the file is committed)."""
    if value and not value.startswith(("env:", "file:")):
        return "must start with `env:` or `file:` (e.g. env:GITHUB_TOKEN) so no secret is written to the file"
    return None


def _required(value: str) -> str | None:
    return None if value.strip() else "an answer is required"


def interview(facts: ProjectFacts, flags: InitFlags, ask: Prompter) -> InitAnswers:
    """Ask what ``flags`` leave open and return the answers.

    Raises:
        UsageError: a flag has an invalid value, or ``--yes`` lacks a required answer.
    """
    ask.note("Welcome to kwaak! Let's create a configuration file; you can change every answer later.")
    project = flags.project_name or ask.text(
        "Project name:", default=facts.project_name, flag="--project-name", validate=_required
    )
    answers = InitAnswers(project_name=project, languages=_languages(facts, flags, ask), provider="")
    _git(answers, facts, flags, ask)
    answers.provider = _provider(flags, ask)
    _llm(answers, flags, ask)
    _commands(answers, facts, flags, ask)
    answers.executor = flags.executor or ask.select(
        "Where should agents run commands?", EXECUTORS, default=facts.executor, flag="--executor"
    )
    return answers


def _languages(facts: ProjectFacts, flags: InitFlags, ask: Prompter) -> tuple[str, ...]:
    if flags.languages:
        normalized = [str(normalize_language(lang)) for lang in flags.languages]
        unknown = [lang for lang in normalized if lang not in LANGUAGES]
        if unknown:
            msg = f"unknown language {unknown[0]!r}"
            raise UsageError(msg, hint="choose from: " + ", ".join(LANGUAGES))
        return tuple(normalized)
    return tuple(ask.checkbox("Programming language(s):", LANGUAGES, checked=facts.languages, flag="--language"))


def _provider(flags: InitFlags, ask: Prompter) -> str:
    if flags.provider is None:
        return ask.select("What LLM would you like to use?", INIT_PROVIDERS, default="OpenAI", flag="--provider")
    by_lower = {p.lower(): p for p in INIT_PROVIDERS} | PROVIDER_ALIASES
    if flags.provider.lower() not in by_lower:
        msg = f"unknown provider {flags.provider!r}"
        raise UsageError(
            msg, hint="choose from: " + ", ".join([*INIT_PROVIDERS[:4], "openai-compatible", *INIT_PROVIDERS[5:]])
        )
    return by_lower[flags.provider.lower()]


def _checked_secret(value: str | None, flag: str) -> str | None:
    problem = secret_problem(value or "")
    if problem:
        raise UsageError(f"{flag} {problem}", hint="e.g. export the secret and pass env:NAME")
    return value


def _git(a: InitAnswers, facts: ProjectFacts, flags: InitFlags, ask: Prompter) -> None:
    a.main_branch = flags.main_branch or ask.text(
        "Default git branch:", default=facts.main_branch, flag="--main-branch", validate=_required
    )
    a.owner, a.repository = facts.owner, facts.repository
    ask.note("A GitHub token lets agents push branches, open pull requests and search GitHub.")
    token = _checked_secret(flags.github_token, "--github-token")
    if token is None:
        token = ask.text(
            "GitHub token (optional, e.g. env:GITHUB_TOKEN):",
            default="",
            flag="--github-token",
            validate=secret_problem,
        )
    a.github_token = token or None
    if flags.auto_push is not None:
        a.auto_push = flags.auto_push and a.github_token is not None
    elif a.github_token:
        a.auto_push = ask.confirm("Push to the git remote after changes?", default=False, flag="--auto-push")


def _llm(a: InitAnswers, flags: InitFlags, ask: Prompter) -> None:
    preset = PRESETS[a.provider]
    if preset.api_key is not None:
        key = _checked_secret(flags.api_key, "--api-key") or ask.text(
            f"{a.provider} API key:", default=preset.api_key, flag="--api-key", validate=secret_problem
        )
        a.api_key = key or preset.api_key
    if a.provider == "Scripted":
        ask.note("Scripted models answer without any network: good for a dry run, not for real work.")
        return
    if a.provider == "Ollama":
        ask.note("Ollama must be running; the query model must support tool calls.")
    if a.provider == LOCAL_SERVER:
        ask.note(
            "No API key needed. Use the model name your server serves; it must support tool calls (llama.cpp: "
            "start llama-server with --jinja). kwaak reads the context window from the server."
        )
    a.indexing_model = flags.indexing_model or ask.text(
        "Model used for fast operations (like indexing):", default=preset.indexing_model, flag="--indexing-model"
    )
    a.query_model = flags.query_model or ask.text(
        "Model used for querying and code generation:", default=preset.query_model, flag="--query-model"
    )
    _embedding(a, flags, ask)
    _endpoint(a, flags, ask)


def _embedding(a: InitAnswers, flags: InitFlags, ask: Prompter) -> None:
    preset = PRESETS[a.provider]
    if preset.embedding_model is None:
        ask.note(f"{a.provider} has no embeddings; the index will use a local embedding model (FastEmbed).")
    default = preset.embedding_model or "all-MiniLM-L6-v2"
    a.embedding_model = flags.embedding_model or ask.text(
        "Model used for embeddings:", default=default, flag="--embedding-model"
    )
    if a.provider == "Ollama":
        size = flags.vector_size or ask.text(
            "Vector size of the embedding model:", default="1024", flag="--vector-size", validate=_positive_int
        )
        a.vector_size = int(size)


def _positive_int(value: str) -> str | None:
    return None if value.strip().isdigit() and int(value) > 0 else "must be a positive whole number"


def _endpoint(a: InitAnswers, flags: InitFlags, ask: Prompter) -> None:
    if a.provider == "AzureOpenAI":
        a.base_url = flags.base_url or ask.text(
            "Azure endpoint (https://NAME.openai.azure.com):", default="", flag="--base-url", validate=_required
        )
        a.azure_api_version = flags.azure_api_version or ask.text(
            "Azure API version:", default="2024-10-21", flag="--azure-api-version", validate=_required
        )
        a.azure_deployment = flags.azure_deployment or ask.text(
            "Azure deployment id:", default="", flag="--azure-deployment", validate=_required
        )
    elif a.provider == LOCAL_SERVER:
        a.base_url = flags.base_url or ask.text(
            "Server URL (OpenAI-compatible, ending in /v1):",
            default=LOCAL_SERVER_URL,
            flag="--base-url",
            validate=_required,
        )
    elif a.provider in ("OpenAI", "Ollama"):
        a.base_url = flags.base_url or ask.text("Custom base URL (optional):", default="", flag="--base-url") or None


def _commands(a: InitAnswers, facts: ProjectFacts, flags: InitFlags, ask: Prompter) -> None:
    _setup(a, facts, flags, ask)
    ask.note("Agents use these commands to check their work; leave one empty to skip it.")
    same_language = facts.languages[:1] == a.languages[:1]
    detected = facts.commands if same_language else detect_commands(facts.root, a.languages[0])
    test = _available(detected.test, a, facts, ask, keep=True)
    a.test_command = flags.test_command or ask.text("Test command:", default=test, flag="--test-command")
    coverage = _available(detected.coverage, a, facts, ask)
    a.coverage_command = flags.coverage_command or ask.text(
        "Coverage command:", default=coverage, flag="--coverage-command"
    )
    lint = _available(detected.lint_and_fix, a, facts, ask)
    a.lint_command = flags.lint_command or ask.text(
        "Lint-and-fix command (runs after each change):", default=lint, flag="--lint-command"
    )
    a.test_command, a.coverage_command, a.lint_command = (
        c or None for c in (a.test_command, a.coverage_command, a.lint_command)
    )


def _setup(a: InitAnswers, facts: ProjectFacts, flags: InitFlags, ask: Prompter) -> None:
    if flags.setup_command is not None:
        a.setup = (flags.setup_command,) if flags.setup_command.strip() else ()
        return
    proposed = detect_setup(facts.root, a.languages[0])
    ask.note(
        "Each agent works in its own git worktree. A setup command runs once in each new worktree "
        "(e.g. a virtualenv with the project installed), so the agent's tests use its own code."
    )
    answer = ask.text("Worktree setup command (optional):", default=" && ".join(proposed), flag="--setup-command")
    a.setup = (answer,) if answer.strip() else ()


def _available(command: str | None, a: InitAnswers, facts: ProjectFacts, ask: Prompter, *, keep: bool = False) -> str:
    """``command`` if its programs can run here; else a note, and no default unless ``keep``."""
    if not command:
        return ""
    missing = missing_program(command, facts.root, setup=a.setup)
    if missing is None:
        return command
    if keep:
        note = f"`{missing}` (for `{command}`) is not installed here: make sure the setup command installs it."
    else:
        note = f"Not proposing `{command}`: `{missing}` is not installed here (not on PATH, not a declared dependency)."
    ask.note(note)
    a.notes.append(note)
    return command if keep else ""
