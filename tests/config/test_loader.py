"""Layering, precedence, seeding, derived defaults and capability checks of the loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.config import load_config
from kwaak.config.loader import env_overrides
from kwaak.config.providers import AnthropicConfig, ScriptedConfig
from kwaak.errors import ConfigError

BASE = """
project_name = "layers"
language = "python"
[commands]
test = "from-file"
coverage = "cov-from-file"
[git]
main_branch = "main"
[llm.indexing]
provider = "Scripted"
[llm.query]
provider = "Scripted"
[llm.embedding]
provider = "Scripted"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_file_then_local_then_env(tmp_git_repo: Path) -> None:
    write(tmp_git_repo / "kwaak.toml", BASE)
    write(tmp_git_repo / "kwaak.local.toml", '[commands]\ntest = "from-local"\nlint_and_fix = "lint-local"\n')
    config = load_config(tmp_git_repo, environ={"KWAAK__COMMANDS__LINT_AND_FIX": "lint-env"})
    assert config.commands.test == "from-local"
    assert config.commands.coverage == "cov-from-file"  # tables merge, siblings survive
    assert config.commands.lint_and_fix == "lint-env"


def test_env_values_are_coerced_and_json_parsed(tmp_git_repo: Path) -> None:
    write(tmp_git_repo / "kwaak.toml", BASE)
    environ = {
        "KWAAK__GIT__AUTO_PUSH_REMOTE": "false",
        "KWAAK__NUM_COMPLETIONS_FOR_SUMMARY": "3",
        "KWAAK__AGENT_CUSTOM_CONSTRAINTS": '["a", "b"]',
        "KWAAK__LLM__QUERY__PROMPT_MODEL": "from-env",
        "KWAAK_LOG": "debug",  # one underscore: not an override
    }
    config = load_config(tmp_git_repo, environ=environ)
    assert config.git.auto_push_remote is False
    assert config.num_completions_for_summary == 3
    assert config.agent_custom_constraints == ("a", "b")
    assert isinstance(config.llm.query, ScriptedConfig)
    assert config.llm.query.prompt_model == "from-env"


def test_env_overrides_shape() -> None:
    assert env_overrides({"KWAAK__A__B": "1", "KWAAK__C": "[1]", "OTHER": "x", "KWAAK__": "y"}) == {
        "a": {"b": "1"},
        "c": [1],
    }


def test_dot_config_is_preferred_and_explicit_path_wins(tmp_git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_git_repo / "kwaak.toml", BASE.replace('"layers"', '"root-file"'))
    write(tmp_git_repo / ".config" / "kwaak.toml", BASE.replace('"layers"', '"dot-config"'))
    assert load_config(tmp_git_repo, environ={}).project_name == "dot-config"
    other = write(tmp_git_repo / "other.toml", BASE.replace('"layers"', '"explicit"'))
    write(tmp_git_repo / "kwaak.local.toml", '[commands]\ntest = "local-still-applies"\n')
    monkeypatch.chdir(tmp_git_repo)
    config = load_config(tmp_git_repo, config_path=Path("other.toml"), environ={})
    assert (config.project_name, config.commands.test) == ("explicit", "local-still-applies")
    assert other.is_file()


def test_missing_file_mentions_init(tmp_git_repo: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_git_repo, environ={})
    assert "kwaak init" in (info.value.hint or "")


def test_root_keys_are_seeded(tmp_git_repo: Path) -> None:
    text = BASE.replace('[llm.query]\nprovider = "Scripted"', '[llm.query]\nprovider = "Anthropic"')
    write(tmp_git_repo / "kwaak.toml", 'anthropic_api_key = "text:root-key"\n' + text)
    config = load_config(tmp_git_repo, environ={})
    assert isinstance(config.llm.query, AnthropicConfig)
    key = config.llm.query.api_key
    assert key is not None and key.reveal() == "root-key"


def test_missing_root_key_is_explained(tmp_git_repo: Path) -> None:
    text = BASE.replace('[llm.query]\nprovider = "Scripted"', '[llm.query]\nprovider = "OpenRouter"')
    write(tmp_git_repo / "kwaak.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_git_repo, environ={})
    assert "llm.query.api_key" in info.value.message
    assert "open_router_api_key" in (info.value.hint or "")


def test_openai_with_base_url_needs_no_key(tmp_git_repo: Path) -> None:
    text = BASE.replace(
        '[llm.query]\nprovider = "Scripted"', '[llm.query]\nprovider = "OpenAI"\nbase_url = "http://127.0.0.1:9/v1"'
    )
    write(tmp_git_repo / "kwaak.toml", text)
    assert load_config(tmp_git_repo, environ={}).llm.query.provider == "OpenAI"


@pytest.mark.parametrize(
    ("role", "table", "expected"),
    [
        ("embedding", 'provider = "Anthropic"\napi_key = "text:x"', "llm.embedding.provider: Anthropic cannot create"),
        ("embedding", 'provider = "OpenRouter"\napi_key = "text:x"', "llm.embedding.provider: OpenRouter cannot"),
        ("query", 'provider = "FastEmbed"', "llm.query.provider: FastEmbed can only create embeddings"),
        ("embedding", 'provider = "Ollama"', "llm.embedding.embedding_model: Ollama needs an embedding model"),
        ("indexing", 'provider = "Ollama"', "llm.indexing.prompt_model: Ollama needs a prompt model"),
        ("query", 'provider = "AzureOpenAI"\napi_key = "text:x"', "llm.query.base_url: AzureOpenAI needs"),
    ],
)
def test_capabilities(tmp_git_repo: Path, role: str, table: str, expected: str) -> None:
    text = BASE.replace(f'[llm.{role}]\nprovider = "Scripted"', f"[llm.{role}]\n{table}")
    write(tmp_git_repo / "kwaak.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_git_repo, environ={})
    assert expected in info.value.message
    assert str(tmp_git_repo / "kwaak.toml") in info.value.message


def test_derived_defaults(tmp_git_repo: Path) -> None:
    text = BASE.replace('project_name = "layers"\n', "").replace('[git]\nmain_branch = "main"\n', "")
    text = text.replace('[commands]\ntest = "from-file"\ncoverage = "cov-from-file"\n', "")
    write(tmp_git_repo / "kwaak.toml", text)
    config = load_config(tmp_git_repo, environ={})
    assert config.project_name == "repo"  # origin is a local path, so the directory name
    assert config.main_branch == "main"
    assert config.cache_dir.parts[-2:] == ("kwaak", "repo")
    assert config.log_dir.parts[-3:] == ("kwaak", "logs", "repo")
    assert config.commands.test is None


def test_relative_dirs_resolve_against_repo_root(tmp_git_repo: Path) -> None:
    write(tmp_git_repo / "kwaak.toml", 'cache_dir = "cache"\nlog_dir = "out/kwaak/logs"\n' + BASE)
    config = load_config(tmp_git_repo, environ={})
    assert config.cache_dir == tmp_git_repo / "cache"
    assert config.log_dir == tmp_git_repo / "out" / "kwaak" / "logs" / "layers"


def test_unknown_tool_in_tools_table(tmp_git_repo: Path) -> None:
    write(tmp_git_repo / "kwaak.toml", BASE + "[tools]\nshell_comand = false\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_git_repo, environ={})
    assert "tools: unknown tool 'shell_comand'" in info.value.message


def test_misspelled_key_gets_a_suggestion(tmp_git_repo: Path) -> None:
    write(tmp_git_repo / "kwaak.toml", BASE.replace("[git]\n", "[git]\nauto_push_remot = true\n"))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_git_repo, environ={})
    assert "git.auto_push_remot: unknown key" in info.value.message
    assert info.value.hint == "did you mean `auto_push_remote`?"
