"""Malformed configurations through the real CLI: exit 2, one line naming file and key, a hint."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import SCRIPTED_CONFIG, Kwaak, assert_one_error, run_kwaak
from tests.conftest import git

GOOD = SCRIPTED_CONFIG.format(cache="/tmp/kwaak-test-unused-cache", logs="/tmp/kwaak-test-unused-logs")
LLM = GOOD[GOOD.index("[llm.indexing]") :]


def top(line: str) -> str:
    """GOOD with `line` added at the top level."""
    return line + "\n" + GOOD


def swap(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("toml-syntax", 'project_name = "x"\nlanguage = \n' + LLM, ("TOML syntax error", "line 2")),
    ("unknown-top-key", top('colour = "red"'), ("colour: unknown key",)),
    ("unknown-nested-key", swap("[git]\n", "[git]\nauto_push_remot = true\n"), ("git.auto_push_remot: unknown key",)),
    ("wrong-bool", swap("auto_push_remote = false", 'auto_push_remote = "yes please"'), ("git.auto_push_remote",)),
    ("wrong-int", top('num_completions_for_summary = "ten"'), ("num_completions_for_summary", "'ten'")),
    ("int-range", top("indexing_concurrency = 0"), ("indexing_concurrency", "greater than 0")),
    (
        "unknown-provider",
        swap('[llm.query]\nprovider = "Scripted"', '[llm.query]\nprovider = "Gemini"'),
        ("llm.query: unknown provider 'Gemini'",),
    ),
    (
        "no-provider",
        swap('[llm.query]\nprovider = "Scripted"', '[llm.query]\nprompt_model = "x"'),
        ("llm.query", "`provider`"),
    ),
    ("missing-role", swap('[llm.embedding]\nprovider = "Scripted"\n', ""), ("llm.embedding: is required",)),
    ("missing-language", swap('language = "python"\n', ""), ("language: is required",)),
    ("unknown-language", swap('language = "python"', 'language = "cobol"'), ("language: invalid value 'cobol'",)),
    ("bad-literal", top('agent_edit_mode = "sometimes"'), ("agent_edit_mode: invalid value 'sometimes'",)),
    ("bad-executor", swap('tool_executor = "local"', 'tool_executor = "kubernetes"'), ("tool_executor",)),
    (
        "unset-env-secret",
        top('openai_api_key = "env:KWAAK_TEST_SURELY_UNSET"'),
        ("openai_api_key", "KWAAK_TEST_SURELY_UNSET"),
    ),
    (
        "unreadable-secret-file",
        top('github_api_key = "file:does/not/exist"'),
        ("github_api_key", "cannot read secret file"),
    ),
    ("secret-without-prefix", top('tavily_api_key = "tvly-plain-sentinel"'), ("tavily_api_key", "prefixed with")),
    (
        "missing-root-key",
        swap('[llm.query]\nprovider = "Scripted"', '[llm.query]\nprovider = "OpenAI"'),
        ("llm.query.api_key", "openai_api_key"),
    ),
    (
        "cannot-embed",
        swap('[llm.embedding]\nprovider = "Scripted"', '[llm.embedding]\nprovider = "Anthropic"\napi_key = "text:k"'),
        ("llm.embedding.provider", "cannot create embeddings"),
    ),
    (
        "ollama-vector-size",
        swap(
            '[llm.embedding]\nprovider = "Scripted"',
            '[llm.embedding]\nprovider = "Ollama"\nembedding_model = { name = "bge-m3" }',
        ),
        ("llm.embedding.embedding_model.vector_size: is required",),
    ),
    ("mcp-transport", GOOD + '[[mcp]]\nname = "x"\n', ("mcp.0", "exactly one of `command`")),
    ("unknown-tool", GOOD + "[tools]\nshell = false\n", ("tools", "unknown tool 'shell'")),
    ("backoff-range", GOOD + "[backoff]\nmultiplier = 0.5\n", ("backoff.multiplier",)),
    (
        "table-is-a-string",
        swap('[commands]\ntest = "python -m pytest -q"\n', "").replace("[git]", 'commands = "make test"\n[git]'),
        ("commands",),
    ),
]


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository for all malformed cases (each writes its own file): keeps the suite fast."""
    repo = tmp_path_factory.mktemp("malformed")
    git(repo, "init", "-q", "-b", "main")
    return repo


@pytest.mark.parametrize(("text", "needles"), [pytest.param(t, n, id=i) for i, t, n in CASES])
def test_malformed(shared_repo: Path, request: pytest.FixtureRequest, text: str, needles: tuple[str, ...]) -> None:
    bad = shared_repo / f"{request.node.callspec.id}.toml"
    bad.write_text(text)
    proc: subprocess.CompletedProcess[str] = run_kwaak("-c", bad.name, "print-config", cwd=shared_repo)
    line = assert_one_error(proc, *needles)
    assert str(bad) in line
    assert "sentinel" not in line


def test_not_utf8(kwaak: Kwaak, repo: Path) -> None:
    (repo / "bad.toml").write_bytes(b'project_name = "\xff\xfe"\n')
    assert_one_error(kwaak("-c", "bad.toml", "print-config"), "bad.toml", "not valid UTF-8")


def test_config_path_missing_or_directory(kwaak: Kwaak, repo: Path) -> None:
    assert_one_error(kwaak("-c", "nope.toml", "print-config"), "'nope.toml' not found")
    (repo / "adir").mkdir()
    assert_one_error(kwaak("print-config", "--config-path", "adir"), "is a directory")


def test_env_override_error_names_the_variable(kwaak: Kwaak) -> None:
    proc = kwaak("print-config", env={"KWAAK__GIT__AUTO_PUSH_REMOTE": "maybe"})
    assert_one_error(proc, "environment (KWAAK__GIT__AUTO_PUSH_REMOTE): git.auto_push_remote", "'maybe'")


def test_local_file_error_names_the_local_file(kwaak: Kwaak, repo: Path) -> None:
    (repo / "kwaak.local.toml").write_text("[ui]\nhide_header = 3.5\n")
    assert_one_error(kwaak("print-config"), str(repo / "kwaak.local.toml"), "ui.hide_header")


def test_no_config_at_all(kwaak: Kwaak, repo: Path) -> None:
    (repo / "kwaak.toml").unlink()
    line = assert_one_error(kwaak("print-config"), "no kwaak.toml found")
    assert str(repo) in line
