"""`env:` / `text:` / `file:` secrets: resolution, errors, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.config import ApiKey, load_config, render_config
from kwaak.config.secrets import collect_secrets
from kwaak.errors import ConfigError, SecretNotFound

BASE = """
project_name = "secrets"
language = "python"
[llm.indexing]
provider = "Scripted"
[llm.query]
provider = "Scripted"
[llm.embedding]
provider = "Scripted"
"""


def test_env_text_and_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("  from-file\n")
    assert ApiKey.parse("env:MY_KEY", environ={"MY_KEY": "from-env"}).reveal() == "from-env"
    assert ApiKey.parse("text:literal:with:colons").reveal() == "literal:with:colons"
    assert ApiKey.parse(f"file:{secret_file}").reveal() == "from-file"
    assert ApiKey.parse("file:token", base_dir=tmp_path).source == f"file:{secret_file}"


def test_masked_everywhere() -> None:
    key = ApiKey.parse("text:sk-very-secret")
    assert repr(key) == str(key) == f"{key}" == "ApiKey(****)"
    assert "sk-very-secret" not in repr([key, {"k": key}])


def test_unset_env_var() -> None:
    with pytest.raises(SecretNotFound) as info:
        ApiKey.parse("env:NOPE_NOT_SET", environ={})
    assert "'NOPE_NOT_SET' is not set" in info.value.message
    assert "export NOPE_NOT_SET" in (info.value.hint or "")


@pytest.mark.parametrize("target", ["missing.txt", "."])
def test_unreadable_file(tmp_path: Path, target: str) -> None:
    with pytest.raises(SecretNotFound, match="cannot read secret file"):
        ApiKey.parse(f"file:{target}", base_dir=tmp_path)


@pytest.mark.parametrize("raw", ["sk-no-prefix", "ENV:X", "", "env"])
def test_prefix_required(raw: str) -> None:
    with pytest.raises(ValueError, match="prefixed with `env:`, `text:` or `file:`"):
        ApiKey.parse(raw)


def test_unresolved_mode_checks_only_syntax() -> None:
    key = ApiKey.parse("env:NOT_SET_ANYWHERE", environ={}, resolve=False)
    assert (key.reveal(), key.source) == ("", "env:NOT_SET_ANYWHERE")


def test_relative_file_secret_is_relative_to_repo_root(tmp_git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_git_repo / "secrets").mkdir()
    (tmp_git_repo / "secrets" / "gh").write_text("ghp-relative\n")
    (tmp_git_repo / "kwaak.toml").write_text('github_api_key = "file:secrets/gh"\n' + BASE)
    monkeypatch.chdir(tmp_git_repo / "src")  # the cwd does not matter
    config = load_config(tmp_git_repo, environ={})
    assert config.github_api_key is not None and config.github_api_key.reveal() == "ghp-relative"


def test_env_secret_comes_from_the_given_environment(tmp_git_repo: Path) -> None:
    (tmp_git_repo / "kwaak.toml").write_text('tavily_api_key = "env:TAVILY"\n' + BASE)
    config = load_config(tmp_git_repo, environ={"TAVILY": "tvly-123"})
    assert config.tavily_api_key is not None and config.tavily_api_key.reveal() == "tvly-123"
    assert collect_secrets(config) == ["tvly-123"]
    assert "tvly-123" not in render_config(config)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('github_api_key = "env:UNSET_VAR_X"', "github_api_key: environment variable 'UNSET_VAR_X' is not set"),
        ('github_api_key = "file:/nonexistent/x"', "github_api_key: cannot read secret file '/nonexistent/x'"),
        ('github_api_key = "ghp-plain-sentinel"', "github_api_key: expected a secret prefixed with"),
        ("github_api_key = 42", "github_api_key: expected a string like"),
    ],
)
def test_secret_errors_name_the_key_and_never_the_value(tmp_git_repo: Path, line: str, expected: str) -> None:
    (tmp_git_repo / "kwaak.toml").write_text(line + "\n" + BASE)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_git_repo, environ={})
    assert expected in info.value.message
    assert "ghp-plain-sentinel" not in info.value.render()
