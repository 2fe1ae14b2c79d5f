"""More malformed configurations through the real CLI (extends tests/cli/test_malformed_config.py).

Each case: exit code 2, exactly one `error:` line naming the file and the key path, a `hint:`
line, no traceback, and never the value of a secret.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import SCRIPTED_CONFIG, assert_one_error, run_kwaak
from tests.conftest import git

GOOD = SCRIPTED_CONFIG.format(cache="/tmp/kwaak-test-unused-cache", logs="/tmp/kwaak-test-unused-logs")
HEAD = GOOD[: GOOD.index("[commands]")]
LLM = GOOD[GOOD.index("[llm.indexing]") :]


def top(line: str) -> str:
    """GOOD with ``line`` at the top level."""
    return line + "\n" + GOOD


def table(text: str) -> str:
    """GOOD with a table appended."""
    return GOOD + "\n" + text + "\n"


def query(text: str) -> str:
    """GOOD with ``[llm.query]`` replaced by ``text``."""
    old = '[llm.query]\nprovider = "Scripted"\n'
    assert old in GOOD
    return GOOD.replace(old, "[llm.query]\n" + text + "\n")


def embedding(text: str) -> str:
    """GOOD with ``[llm.embedding]`` replaced by ``text``."""
    old = '[llm.embedding]\nprovider = "Scripted"\n'
    assert old in GOOD
    return GOOD.replace(old, "[llm.embedding]\n" + text + "\n")


MCP = '[[mcp]]\nname = "srv"\ncommand = "true"\n'

CASES: list[tuple[str, str, tuple[str, ...]]] = [
    # TOML syntax
    ("duplicate-key", top('project_name = "again"'), ("TOML syntax error",)),
    ("duplicate-table", table("[git]\nremote = 'x'"), ("TOML syntax error",)),
    ("unterminated-string", top('project_name = "oops'), ("TOML syntax error",)),
    ("byte-order-mark", "\ufeff" + GOOD, ("TOML syntax error",)),
    ("array-of-tables-for-a-table", table("[[docker]]\nworkdir = '/x'"), ("docker: input should be a valid",)),
    # wrong types at the top level
    ("project-name-int", GOOD.replace('project_name = "cliproject"', "project_name = 42"), ("project_name",)),
    ("project-name-array", GOOD.replace('project_name = "cliproject"', "project_name = []"), ("project_name",)),
    ("language-empty-list", GOOD.replace('language = "python"', "language = []"), ("language",)),
    ("languages-one-unknown", GOOD.replace('language = "python"', 'language = ["python", "cobol"]'), ("'cobol'",)),
    ("cache-dir-bool", GOOD.replace('cache_dir = "/tmp/kwaak-test-unused-cache"', "cache_dir = true"), ("cache_dir",)),
    ("llm-is-a-string", HEAD + 'llm = "OpenAI"\n', ("llm",)),
    ("agent-unknown", top('agent = "Planner"'), ("agent",)),
    ("summary-every-zero", top("num_completions_for_summary = 0"), ("num_completions_for_summary",)),
    ("batch-size-negative", top("indexing_batch_size = -1"), ("indexing_batch_size",)),
    ("constraints-not-a-list", top("agent_custom_constraints = 7"), ("agent_custom_constraints",)),
    ("secret-not-a-string", top("github_api_key = 123"), ("github_api_key",)),
    ("secret-env-empty-name", top('openai_api_key = "env:"'), ("openai_api_key",)),
    ("secret-file-is-a-directory", top('anthropic_api_key = "file:/"'), ("anthropic_api_key",)),
    # [llm.*]
    ("provider-not-a-string", query("provider = 5"), ("llm.query",)),
    ("provider-lowercase-typo", query('provider = "openai"'), ("llm.query", "'openai'")),
    ("query-unknown-key", query('provider = "Scripted"\ntemperature = 0.5'), ("llm.query.temperature",)),
    (
        "base-url-not-a-string",
        query('provider = "OpenAI"\napi_key = "text:sk-sentinel-1"\nbase_url = 5'),
        ("llm.query.base_url",),
    ),
    (
        "embedding-dimensions-zero",
        embedding('provider = "OpenAI"\napi_key = "text:sk-sentinel-2"\nembedding_dimensions = 0'),
        ("llm.embedding.embedding_dimensions",),
    ),
    ("scripted-delay-negative", query('provider = "Scripted"\ndelay_sec = -1'), ("llm.query.delay_sec",)),
    ("extra-llm-role", GOOD + '[llm.chat]\nprovider = "Scripted"\n', ("llm.chat",)),
    ("fastembed-cannot-chat", query('provider = "FastEmbed"'), ("llm.query",)),
    # [backoff]
    ("backoff-negative-interval", table("[backoff]\ninitial_interval_sec = -1"), ("backoff.initial_interval_sec",)),
    ("backoff-randomization-2", table("[backoff]\nrandomization_factor = 2"), ("backoff.randomization_factor",)),
    ("backoff-elapsed-string", table('[backoff]\nmax_elapsed_time_sec = "forever"'), ("backoff.max_elapsed_time_sec",)),
    # [limits]
    ("parallel-zero", table("[limits]\nmax_parallel_agents = 0"), ("limits.max_parallel_agents",)),
    ("agent-steps-negative", table("[limits.agent]\nmax_steps = -3"), ("limits.agent.max_steps",)),
    ("team-cost-string", table('[limits.team]\nmax_cost_usd = "ten"'), ("limits.team.max_cost_usd",)),
    ("tool-timeout-zero", table("[limits]\ntool_timeout_sec = 0"), ("limits.tool_timeout_sec",)),
    ("tool-output-tiny", table("[limits]\nmax_tool_output_chars = 10"), ("limits.max_tool_output_chars",)),
    ("limits-unknown-key", table("[limits]\nmax_agents = 3"), ("limits.max_agents",)),
    # [[mcp]]
    ("mcp-no-name", table('[[mcp]]\ncommand = "true"'), ("mcp.0.name",)),
    ("mcp-both-transports", table(MCP + 'url = "http://127.0.0.1:1/mcp"'), ("mcp.0", "exactly one of")),
    ("mcp-env-without-prefix", table(MCP + 'env = { TOKEN = "plain-sentinel" }'), ("mcp.0.env.TOKEN",)),
    ("mcp-timeout-zero", table(MCP + "timeout_sec = 0"), ("mcp.0.timeout_sec",)),
    ("mcp-args-not-a-list", table(MCP + "args = 5"), ("mcp.0.args",)),
    ("mcp-unset-env-secret", table(MCP + 'env = { TOKEN = "env:KWAAK_TEST_SURELY_UNSET_2" }'), ("mcp.0.env",)),
    # [policy], [prices], [tools] and the small tables
    (
        "policy-bad-decision",
        table('[[policy.rules]]\nprefix = "git push"\ndecision = "maybe"'),
        ("policy.rules.0.decision",),
    ),
    ("policy-rule-no-prefix", table('[[policy.rules]]\ndecision = "forbid"'), ("policy.rules.0.prefix",)),
    ("policy-headless-ask", table('[policy]\nheadless_prompt = "ask"'), ("policy.headless_prompt",)),
    ("price-negative", table('[prices."gpt-4o"]\ninput = -1\noutput = 10'), ("prices.gpt-4o.input",)),
    ("price-missing-output", table('[prices."gpt-4o"]\ninput = 1'), ("prices.gpt-4o.output",)),
    ("tool-toggle-not-bool", table('[tools]\nwrite_file = "definitely"'), ("tools.write_file",)),
    ("docker-unknown-key", table('[docker]\nimage = "python:3"'), ("docker.image",)),
    ("ui-wrong-type", table('[ui]\nhide_header = "sometimes"'), ("ui.hide_header",)),
    ("index-chunk-too-small", table("[index]\nchunk_max_bytes = 50"), ("index.chunk_max_bytes",)),
    ("sandbox-network-string", table('[sandbox]\nnetwork = "maybe"'), ("sandbox.network",)),
    ("workspace-unknown-key", table("[workspace]\nkeep = true"), ("workspace.keep",)),
    ("commands-test-list", GOOD.replace('test = "python -m pytest -q"', 'test = ["pytest"]'), ("commands.test",)),
    ("git-main-branch-int", GOOD.replace('main_branch = "main"', "main_branch = 3"), ("git.main_branch",)),
]


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository for every case (each writes its own config file)."""
    repo = tmp_path_factory.mktemp("malformed-more")
    git(repo, "init", "-q", "-b", "main")
    return repo


def test_cases_are_many_and_distinct() -> None:
    assert len(CASES) >= 40
    assert len({name for name, _, _ in CASES}) == len(CASES)
    assert len({text for _, text, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "needles"), [pytest.param(t, n, id=i) for i, t, n in CASES])
def test_malformed(shared_repo: Path, request: pytest.FixtureRequest, text: str, needles: tuple[str, ...]) -> None:
    bad = shared_repo / f"{request.node.callspec.id}.toml"
    bad.write_text(text, encoding="utf-8")
    proc: subprocess.CompletedProcess[str] = run_kwaak("-c", bad.name, "print-config", cwd=shared_repo)
    line = assert_one_error(proc, *needles)
    assert str(bad) in line
    assert "sentinel" not in proc.stderr + proc.stdout


def test_binary_garbage_file(shared_repo: Path) -> None:
    bad = shared_repo / "garbage.toml"
    bad.write_bytes(bytes(range(256)) * 4)
    line = assert_one_error(run_kwaak("-c", bad.name, "print-config", cwd=shared_repo))
    assert str(bad) in line


def test_empty_file_names_the_first_missing_key(shared_repo: Path) -> None:
    bad = shared_repo / "empty.toml"
    bad.write_text("")
    line = assert_one_error(run_kwaak("-c", bad.name, "print-config", cwd=shared_repo), "is required")
    assert str(bad) in line


def test_malformed_local_override_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "kwaak.toml").write_text(GOOD)
    (repo / "kwaak.local.toml").write_text("[limits\nmax_parallel_agents = 2\n")
    line = assert_one_error(run_kwaak("print-config", cwd=repo), "TOML syntax error")
    assert "kwaak.local.toml" in line


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("KWAAK__LIMITS__MAX_PARALLEL_AGENTS", "zero", "limits.max_parallel_agents"),
        ("KWAAK__BACKOFF__MULTIPLIER", "-2", "backoff.multiplier"),
        ("KWAAK__TOOLS__NOT_A_TOOL", "false", "tools"),
    ],
)
def test_malformed_env_override(shared_repo: Path, variable: str, value: str, needle: str) -> None:
    (shared_repo / "kwaak.toml").write_text(GOOD)
    proc = run_kwaak("print-config", cwd=shared_repo, env={variable: value})
    line = assert_one_error(proc, needle)
    assert variable.rsplit("__", 1)[0] in line


@pytest.mark.parametrize("verb", [("list-tools",), ("run-agent", "-i", "x"), ("index",), ("search", "add")])
def test_other_verbs_report_config_errors_the_same_way(shared_repo: Path, verb: tuple[str, ...]) -> None:
    bad = shared_repo / "verbs.toml"
    bad.write_text(table("[limits]\nmax_parallel_agents = 0"))
    line = assert_one_error(run_kwaak("-c", bad.name, *verb, cwd=shared_repo), "limits.max_parallel_agents")
    assert str(bad) in line


@pytest.mark.parametrize(
    ("where", "needle"),
    [
        ("project_name", "project_name: the value is 10,000,000 characters long"),
        ("commands", "commands.test: the value is 10,000,000 characters long"),
        ("constraints", "agent_custom_constraints.0: the value is 10,000,000 characters long"),
    ],
)
def test_oversized_strings_give_one_short_error(shared_repo: Path, where: str, needle: str) -> None:
    huge = "a" * 10_000_000
    text = {
        "project_name": GOOD.replace('project_name = "cliproject"', f'project_name = "{huge}"'),
        "commands": GOOD.replace('test = "python -m pytest -q"', f'test = "{huge}"'),
        "constraints": top(f'agent_custom_constraints = ["{huge}"]'),
    }[where]
    bad = shared_repo / f"huge-{where}.toml"
    bad.write_text(text, encoding="utf-8")
    proc = run_kwaak("-c", bad.name, "print-config", cwd=shared_repo)
    line = assert_one_error(proc, needle)
    assert str(bad) in line
    assert len(proc.stderr) < 1000


def test_long_project_name_is_refused_with_a_bounded_message(shared_repo: Path) -> None:
    bad = shared_repo / "long-name.toml"
    bad.write_text(GOOD.replace('project_name = "cliproject"', f'project_name = "{"p" * 5000}"'), encoding="utf-8")
    proc = run_kwaak("-c", bad.name, "print-config", cwd=shared_repo)
    assert_one_error(proc, "project_name", "at most 100 characters")
    assert len(proc.stderr) < 1000


def test_error_messages_are_bounded() -> None:
    from kwaak.errors import MAX_ERROR_CHARS, KwaakError

    error = KwaakError("x" * 1_000_000, hint="y" * 1_000_000)
    assert len(error.message) < MAX_ERROR_CHARS + 100 and "characters omitted" in error.message
    assert error.hint is not None and len(error.hint) < MAX_ERROR_CHARS + 100
