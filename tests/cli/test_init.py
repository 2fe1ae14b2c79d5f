"""`kwaak init` through the real CLI in sample repositories."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_error, run_kwaak
from tests.conftest import git

PY_FILES = {"pyproject.toml": '[project]\nname="x"\n[tool.ruff]\n[tool.pytest.ini_options]\n', "tests/test_a.py": ""}
JS_SCRIPTS = {"test": "jest", "test:coverage": "jest --coverage", "lint:fix": "eslint --fix ."}
SAMPLES: dict[str, tuple[dict[str, str], str, dict[str, str]]] = {
    "python": (
        PY_FILES,
        "Python",
        {
            "test": "pytest",
            "coverage": "coverage run -m pytest && coverage report",
            "lint_and_fix": "ruff check --fix . && ruff format .",
        },
    ),
    "rust": (
        {"Cargo.toml": '[package]\nname = "x"\n', "src/main.rs": "fn main() {}\n"},
        "Rust",
        {
            "test": "cargo test --no-fail-fast --color=never",
            "coverage": "cargo llvm-cov --summary-only",
            "lint_and_fix": "cargo clippy --fix --allow-dirty --allow-staged && cargo fmt",
        },
    ),
    "javascript": (
        {"package.json": json.dumps({"scripts": JS_SCRIPTS}), "yarn.lock": ""},
        "Javascript",
        {"test": "yarn test", "coverage": "yarn run test:coverage", "lint_and_fix": "yarn run lint:fix"},
    ),
    "go": (
        {"go.mod": "module example.com/x\n", "main.go": "package main\n"},
        "Go",
        {"test": "go test ./...", "coverage": "go test -cover ./...", "lint_and_fix": "gofmt -w ."},
    ),
}


def sample_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "sample")
    git(root, "remote", "add", "origin", "https://github.com/acme/sample-app.git")
    return root


TOOLS = ("pytest", "coverage", "ruff", "cargo", "yarn", "go", "gofmt", "python3")


def tools_on_path(tmp_path: Path, names: tuple[str, ...] = TOOLS) -> dict[str, str]:
    """A PATH with exactly these programs (stubs), so what init proposes does not depend on the machine."""
    bin_dir = tmp_path / ("bin-" + "-".join(names))
    bin_dir.mkdir()
    for name in names:
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    return {"PATH": str(bin_dir)}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_detects_language_and_commands(tmp_path: Path, kind: str) -> None:
    files, language, commands = SAMPLES[kind]
    repo = sample_repo(tmp_path / kind, files)
    args = ("init", "--yes", "--dry-run", "--provider", "Scripted", "--executor", "local")
    proc = run_kwaak(*args, cwd=repo, env=tools_on_path(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Dry run, would have written the following to {repo / 'kwaak.toml'}:")
    data = tomllib.loads(proc.stdout.split(":\n", 1)[1])
    assert data["language"] == language
    assert data["commands"] == commands
    assert (data["project_name"], data["git"]["owner"], data["git"]["repository"]) == (
        "sample-app",
        "acme",
        "sample-app",
    )
    assert not (repo / "kwaak.toml").exists()


def test_written_file_loads(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path / "app", PY_FILES)
    env = {"OPENAI_API_KEY": "sk-init-sentinel"}
    proc = run_kwaak("init", "--yes", "--github-token", "env:GH_TOKEN", "--auto-push", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Initialized kwaak project" in proc.stdout
    assert "export GH_TOKEN" in proc.stdout  # a referenced variable that is not set
    text = (repo / "kwaak.toml").read_text()
    assert 'openai_api_key = "env:OPENAI_API_KEY"' in text and "auto_push_remote = true" in text
    git(repo, "add", "kwaak.toml")
    git(repo, "commit", "-q", "-m", "config")
    printed = run_kwaak("print-config", cwd=repo, env={**env, "GH_TOKEN": "ghp-sentinel"})
    assert printed.returncode == 0, printed.stderr
    assert "sk-init-sentinel" not in printed.stdout and "ghp-sentinel" not in printed.stdout
    assert 'prompt_model = "gpt-4o"' in printed.stdout


def test_file_option_and_refusing_to_overwrite(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path / "app", SAMPLES["go"][0])
    args = ("init", "--yes", "--provider", "ollama", "--file", ".config/kwaak.toml")
    assert run_kwaak(*args, cwd=repo).returncode == 0
    assert (repo / ".config" / "kwaak.toml").is_file() and not (repo / "kwaak.toml").exists()
    again = run_kwaak(*args, cwd=repo)
    assert_one_error(again, ".config/kwaak.toml already exists", code=1)
    assert run_kwaak("print-config", cwd=repo).returncode == 0  # .config/kwaak.toml is found


def test_outside_git(tmp_path: Path) -> None:
    proc = run_kwaak("init", "--yes", cwd=tmp_path)
    assert_one_error(proc, "not a git repository")
    assert "git init" in proc.stderr
    assert not (tmp_path / "kwaak.toml").exists()


def test_needs_a_terminal_or_yes(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path / "app", SAMPLES["rust"][0])
    assert_one_error(run_kwaak("init", cwd=repo), "there is no terminal")


def test_rejects_plain_text_secrets(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path / "app", SAMPLES["rust"][0])
    proc = run_kwaak("init", "--yes", "--api-key", "sk-plain", cwd=repo)
    assert_one_error(proc, "--api-key must start with `env:` or `file:`")
    assert "sk-plain" not in proc.stderr.split("\n")[0].split("--api-key")[0]


def test_proposes_worktree_setup_and_only_installed_commands(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname="x"\n[project.optional-dependencies]\ndev=["pytest"]\n[tool.ruff]\n',
        "tests/test_a.py": "",
    }
    repo = sample_repo(tmp_path / "py", files)
    args = ("init", "--yes", "--dry-run", "--provider", "Scripted", "--executor", "local")
    proc = run_kwaak(*args, cwd=repo, env=tools_on_path(tmp_path, ("python3",)))
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout.split(":\n", 1)[1])
    venv = "python3 -m venv .venv && .venv/bin/python -m pip install --quiet -e '.[dev]'"
    assert data["workspace"]["setup"] == [venv]
    # pytest comes with the dev extra the setup installs; ruff and coverage are installed nowhere
    assert data["commands"] == {"test": "pytest"}

    node = sample_repo(tmp_path / "js", {"package.json": json.dumps({"scripts": JS_SCRIPTS}), "package-lock.json": ""})
    proc = run_kwaak(*args, cwd=node, env=tools_on_path(tmp_path, ("npm",)))
    data = tomllib.loads(proc.stdout.split(":\n", 1)[1])
    assert data["workspace"]["setup"] == ["npm ci"]
    assert data["commands"]["test"] == "npm test"

    rust = sample_repo(tmp_path / "rs", SAMPLES["rust"][0])
    proc = run_kwaak(*args, cwd=rust, env=tools_on_path(tmp_path))
    assert "setup" not in tomllib.loads(proc.stdout.split(":\n", 1)[1])["workspace"]


def test_written_file_notes_the_commands_it_did_not_propose(tmp_path: Path) -> None:
    repo = sample_repo(tmp_path / "app", PY_FILES)
    env = {**tools_on_path(tmp_path, ("pytest",)), "OPENAI_API_KEY": "x"}
    proc = run_kwaak("init", "--yes", "--provider", "Scripted", "--executor", "local", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Note: Not proposing `ruff check --fix . && ruff format .`: `ruff` is not installed here" in proc.stdout
    assert "lint_and_fix" not in tomllib.loads((repo / "kwaak.toml").read_text())["commands"]
