"""The generated kwaak.toml: every provider renders a valid, loadable file; the interview logic."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

from kwaak.config import load_config
from kwaak.config.detect import detect_project
from kwaak.config.interview import DefaultsPrompter, InitFlags, Validator, interview
from kwaak.config.onboarding import (
    INIT_PROVIDERS,
    LOCAL_SERVER,
    InitAnswers,
    check_rendered,
    render_init,
    toml_value,
)
from kwaak.config.providers import FastEmbedConfig, OllamaConfig
from kwaak.errors import UsageError

KEYS = {
    "OPENAI_API_KEY": "k1",
    "ANTHROPIC_API_KEY": "k2",
    "OPEN_ROUTER_API_KEY": "k3",
    "AZURE_OPENAI_API_KEY": "k4",
    "GITHUB_TOKEN": "k5",
}


def answers(provider: str, **extra: object) -> InitAnswers:
    a = InitAnswers(project_name="p", languages=("Python",), provider=provider)
    for key, value in extra.items():
        setattr(a, key, value)
    return a


@pytest.mark.parametrize("provider", INIT_PROVIDERS)
def test_every_provider_renders_a_file_that_loads(provider: str, tmp_git_repo: Path) -> None:
    extra = {"base_url": "https://x.openai.azure.com", "azure_deployment": "d"} if provider == "AzureOpenAI" else {}
    text = render_init(answers(provider, github_token="env:GITHUB_TOKEN", **extra))
    check_rendered(text, tmp_git_repo, path=tmp_git_repo / "kwaak.toml")
    (tmp_git_repo / "kwaak.toml").write_text(text)
    config = load_config(tmp_git_repo, environ=KEYS)
    assert config.llm.query.provider == ("OpenAI" if provider == LOCAL_SERVER else provider)
    assert config.github_api_key is not None
    if provider in ("Anthropic", "OpenRouter"):
        assert isinstance(config.llm.embedding, FastEmbedConfig)
        assert "has no embeddings API" in text


def test_openrouter_key_is_written(tmp_git_repo: Path) -> None:
    data = tomllib.loads(render_init(answers("OpenRouter", api_key="env:MY_OR_KEY")))
    assert data["open_router_api_key"] == "env:MY_OR_KEY"


def test_ollama_custom_base_url_is_never_empty() -> None:
    data = tomllib.loads(render_init(answers("Ollama", base_url="http://gpu:11434/v1", vector_size=768)))
    embedding = data["llm"]["embedding"]
    assert embedding["embedding_model"] == {"name": "bge-m3", "vector_size": 768}
    assert embedding["base_url"] == "http://gpu:11434/v1"
    assert data["llm"]["query"]["base_url"] == "http://gpu:11434/v1"


def test_commented_examples_when_unknown() -> None:
    text = render_init(answers("Scripted"))
    data = tomllib.loads(text)
    assert data["commands"] == {}
    assert "#test = " in text and "#github_api_key" in text and "#tavily_api_key" in text
    assert data["git"]["auto_push_remote"] is False


def test_toml_values_round_trip() -> None:
    value = {"s": 'quote " and \\ and ünï and \n', "n": 3, "f": 1.5, "b": True, "l": ["a", 1], "odd key": "x"}
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


def test_defaults_prompter_follows_detection(tmp_git_repo: Path) -> None:
    facts = detect_project(tmp_git_repo)
    a = interview(facts, InitFlags(provider="scripted", executor="local"), DefaultsPrompter())
    assert (a.provider, a.languages, a.executor, a.test_command) == ("Scripted", ("Python",), "local", "pytest")


def test_flags_answer_questions(tmp_git_repo: Path) -> None:
    flags = InitFlags(languages=("rust",), provider="openai", query_model="gpt-4.1", test_command="make t")
    a = interview(detect_project(tmp_git_repo), flags, DefaultsPrompter())
    assert a.languages == ("Rust",)
    assert a.query_model == "gpt-4.1"
    assert a.test_command == "make t"
    assert a.coverage_command == "cargo llvm-cov --summary-only"  # detected for the chosen language


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (InitFlags(provider="gemini"), "unknown provider 'gemini'"),
        (InitFlags(languages=("cobol",)), "unknown language 'Cobol'"),
        (InitFlags(github_token="ghp_plaintext"), "--github-token must start with `env:` or `file:`"),
        (InitFlags(provider="AzureOpenAI"), "Azure endpoint"),
    ],
)
def test_bad_flags(tmp_git_repo: Path, flags: InitFlags, message: str) -> None:
    with pytest.raises(UsageError) as info:
        interview(detect_project(tmp_git_repo), flags, DefaultsPrompter())
    assert message in info.value.message.replace("'cobol'", "'Cobol'")


class ScriptedPrompter:
    """Answers questions by a substring of their text, like a user at the terminal would."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def _answer(self, message: str, default: object) -> object:
        self.asked.append(message)
        return next((v for k, v in self.answers.items() if k in message), default)

    def text(self, message: str, *, default: str, flag: str, validate: Validator | None = None) -> str:
        answer = str(self._answer(message, default))
        assert validate is None or validate(answer) is None, (message, answer)
        return answer

    def select(self, message: str, choices: Sequence[str], *, default: str, flag: str) -> str:
        answer = str(self._answer(message, default))
        assert answer in choices
        return answer

    def checkbox(self, message: str, choices: Sequence[str], *, checked: Sequence[str], flag: str) -> list[str]:
        return list(self._answer(message, list(checked)))  # type: ignore[call-overload]

    def confirm(self, message: str, *, default: bool, flag: str) -> bool:
        return bool(self._answer(message, default))

    def note(self, message: str) -> None:
        self.asked.append("note: " + message)


def test_interactive_ollama_flow(tmp_git_repo: Path) -> None:
    prompter = ScriptedPrompter(
        {
            "LLM": "Ollama",
            "GitHub token": "env:GH",
            "Push": True,
            "Vector size": "384",
            "embeddings": "nomic-embed-text",
            "base URL": "http://box:11434/v1",
        }
    )
    a = interview(detect_project(tmp_git_repo), InitFlags(), prompter)
    assert (a.provider, a.github_token, a.auto_push, a.vector_size) == ("Ollama", "env:GH", True, 384)
    assert any("Ollama must be running" in q for q in prompter.asked)
    data = tomllib.loads(render_init(a))
    assert data["llm"]["embedding"]["embedding_model"] == {"name": "nomic-embed-text", "vector_size": 384}
    config = check_rendered(render_init(a), tmp_git_repo, path=Path("kwaak.toml"))
    assert isinstance(config.llm.embedding, OllamaConfig)


def test_interactive_local_server_flow_needs_no_key(tmp_git_repo: Path) -> None:
    prompter = ScriptedPrompter(
        {"LLM": LOCAL_SERVER, "Server URL": "http://127.0.0.1:8080/v1", "querying": "qwen-local"}
    )
    a = interview(detect_project(tmp_git_repo), InitFlags(), prompter)
    assert not any(q.endswith("API key:") for q in prompter.asked)
    assert any("--jinja" in q for q in prompter.asked)
    text = render_init(a)
    config = check_rendered(text, tmp_git_repo, path=Path("kwaak.toml"))
    query = config.llm.query
    assert query.provider == "OpenAI" and query.api_key is None
    assert getattr(query, "base_url", None) == "http://127.0.0.1:8080/v1"
    assert getattr(query, "prompt_model", None) == "qwen-local"
    assert not any(line.startswith("openai_api_key") for line in text.splitlines())
    assert isinstance(config.llm.embedding, FastEmbedConfig)


def test_provider_flag_aliases(tmp_git_repo: Path) -> None:
    a = interview(detect_project(tmp_git_repo), InitFlags(provider="openai-compatible"), DefaultsPrompter())
    assert a.provider == LOCAL_SERVER and a.base_url == "http://127.0.0.1:8080/v1"


def test_interactive_without_token_never_asks_to_push(tmp_git_repo: Path) -> None:
    prompter = ScriptedPrompter({"LLM": "Anthropic"})
    a = interview(detect_project(tmp_git_repo), InitFlags(), prompter)
    assert a.auto_push is False
    assert not any("Push" in q for q in prompter.asked)
    assert any("no embeddings" in q for q in prompter.asked)


@pytest.mark.timeout(30)  # a changed question order would otherwise wait for keys forever
def test_terminal_prompts_drive_the_interview(tmp_git_repo: Path) -> None:
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from kwaak.config.interview import QuestionaryPrompter

    enter, down = "\r", "\x1b[B"
    keys = [
        "\x15my-app" + enter,  # project name: clear the default, type a new one
        enter,  # languages: keep the detected Python
        enter,  # main branch
        "not-a-ref" + "\x15" + "env:GH_TOKEN" + enter,  # token: the invalid text is cleared before Enter
        "y",  # push after changes
        down * 6 + enter,  # provider: Scripted
        enter,  # worktree setup (nothing detected)
        enter,  # test command (detected)
        "\x15" + enter,  # coverage: cleared, so skipped
        enter,  # lint
    ]
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text("".join(keys))
        a = interview(detect_project(tmp_git_repo), InitFlags(executor="local"), QuestionaryPrompter())
    assert (a.project_name, a.languages, a.provider, a.executor) == ("my-app", ("Python",), "Scripted", "local")
    assert (a.github_token, a.auto_push) == ("env:GH_TOKEN", True)
    assert (a.test_command, a.coverage_command) == ("pytest", None)
