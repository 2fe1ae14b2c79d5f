"""Project detection for `kwaak init`: languages, commands, git facts, executor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwaak.config.defaults import owner_and_repo
from kwaak.config.detect import Commands, detect_commands, detect_executor, detect_languages, detect_project
from kwaak.config.setup_detect import detect_setup, missing_program, programs
from tests.conftest import git


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"Cargo.toml": "", "pyproject.toml": ""}, ("Rust", "Python")),
        ({"package.json": "{}", "tsconfig.json": "{}"}, ("Typescript",)),
        ({"package.json": "{}"}, ("Javascript",)),
        ({"requirements.txt": ""}, ("Python",)),
        ({"go.mod": "module x"}, ("Go",)),
        ({"Gemfile": ""}, ("Ruby",)),
        ({"pom.xml": ""}, ("Java",)),
        ({"src/a.sol": "", "src/b.sol": "", "README.md": ""}, ("Solidity",)),
        ({"README.md": ""}, ()),
    ],
)
def test_languages(tmp_path: Path, files: dict[str, str], expected: tuple[str, ...]) -> None:
    assert detect_languages(make(tmp_path, files)) == expected


def test_python_with_uv_pytest_cov_and_ruff(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": '[project]\ndependencies=["pytest-cov"]\n[tool.ruff]\n', "uv.lock": ""})
    assert detect_commands(tmp_path, "Python") == Commands(
        test="uv run pytest",
        coverage="uv run pytest --cov",
        lint_and_fix="uv run ruff check --fix . && uv run ruff format .",
    )


def test_plain_python(tmp_path: Path) -> None:
    make(tmp_path, {"requirements.txt": "requests\n", "tests/test_x.py": ""})
    assert detect_commands(tmp_path, "Python") == Commands(
        test="pytest", coverage="coverage run -m pytest && coverage report", lint_and_fix=None
    )


def test_rust(tmp_path: Path) -> None:
    commands = detect_commands(tmp_path, "Rust")
    assert commands.test == "cargo test --no-fail-fast --color=never"
    assert commands.coverage == "cargo llvm-cov --summary-only"
    assert commands.lint_and_fix is not None and "clippy" in commands.lint_and_fix


def test_go_with_and_without_golangci(tmp_path: Path) -> None:
    assert detect_commands(tmp_path, "Go") == Commands(
        test="go test ./...", coverage="go test -cover ./...", lint_and_fix="gofmt -w ."
    )
    make(tmp_path, {".golangci.yml": ""})
    assert detect_commands(tmp_path, "Go").lint_and_fix == "golangci-lint run --fix"


def test_node_scripts(tmp_path: Path) -> None:
    scripts = {"test": "vitest", "coverage": "vitest --coverage", "lint": "eslint ."}
    make(tmp_path, {"package.json": json.dumps({"scripts": scripts}), "pnpm-lock.yaml": ""})
    assert detect_commands(tmp_path, "Typescript") == Commands(
        test="pnpm test", coverage="pnpm run coverage", lint_and_fix="pnpm run lint -- --fix"
    )


def test_node_without_scripts_uses_eslint_config(tmp_path: Path) -> None:
    make(tmp_path, {"package.json": "{}", "eslint.config.js": ""})
    assert detect_commands(tmp_path, "Javascript") == Commands(lint_and_fix="npx eslint --fix .")


def test_ruby_and_java(tmp_path: Path) -> None:
    make(tmp_path, {"Gemfile": "gem 'rspec'\ngem 'rubocop'\n", "pom.xml": "<plugin>jacoco</plugin>"})
    assert detect_commands(tmp_path, "Ruby") == Commands(
        test="bundle exec rspec", lint_and_fix="bundle exec rubocop -a"
    )
    assert detect_commands(tmp_path, "Java") == Commands(test="mvn test", coverage="mvn test jacoco:report")
    (tmp_path / "pom.xml").unlink()
    make(tmp_path, {"gradlew": "", "build.gradle": ""})
    assert detect_commands(tmp_path, "Java").test == "./gradlew test"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/bosun-ai/kwaak.git", ("bosun-ai", "kwaak")),
        ("git@github.com:bosun-ai/kwaak.git", ("bosun-ai", "kwaak")),
        ("ssh://git@github.com/bosun-ai/kwaak", ("bosun-ai", "kwaak")),
        ("https://user:pass@github.com/a/b", ("a", "b")),
        ("/some/local/path", None),
    ],
)
def test_owner_and_repo(url: str, expected: tuple[str, str] | None) -> None:
    assert owner_and_repo(url) == expected


def test_project_facts_from_git(tmp_git_repo: Path) -> None:
    git(tmp_git_repo, "remote", "set-url", "origin", "git@github.com:acme/widgets.git")
    facts = detect_project(tmp_git_repo)
    assert (facts.project_name, facts.owner, facts.repository) == ("widgets", "acme", "widgets")
    assert facts.main_branch == "main"
    assert facts.languages == ("Python",)  # from the .py files: the sample has no marker file
    assert facts.commands.test == "pytest"


def test_executor_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    assert detect_executor(has_dockerfile=True) == "local"
    for name in ("bwrap", "docker"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    assert detect_executor(has_dockerfile=False) == "sandbox"
    assert detect_executor(has_dockerfile=True) == "docker"


def test_setup_proposals_per_language(tmp_path: Path) -> None:
    def setup(files: dict[str, str], language: str, uv: bool = False) -> tuple[str, ...]:
        root = make(tmp_path / str(len(list(tmp_path.iterdir()))), files)
        return detect_setup(root, language, which=lambda name: "/bin/uv" if uv and name == "uv" else None)

    assert setup({"pyproject.toml": "", "uv.lock": ""}, "Python") == ("uv sync",)
    assert setup({"pyproject.toml": "", "poetry.lock": ""}, "Python") == (
        "POETRY_VIRTUALENVS_IN_PROJECT=true poetry install",
    )
    assert setup({"setup.py": ""}, "Python", uv=True) == ("uv venv --quiet .venv && uv pip install --quiet -e .",)
    assert setup({"requirements.txt": "", "requirements-dev.txt": ""}, "Python") == (
        "python3 -m venv .venv && .venv/bin/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt",
    )
    assert setup({"package.json": "{}", "yarn.lock": ""}, "Javascript") == ("yarn install --frozen-lockfile",)
    assert setup({"Cargo.toml": ""}, "Rust") == ()


def test_programs_and_missing_program(tmp_path: Path) -> None:
    assert programs("uv run ruff check --fix . && uv run ruff format .") == ["uv", "ruff", "uv", "ruff"]
    assert programs("CI=1 npx eslint --fix . ; cd x && ./gradlew test") == ["npx", "eslint", "./gradlew"]
    root = make(tmp_path, {"pyproject.toml": '[project.optional-dependencies]\ndev = ["pytest>=8", "Ruff"]\n'})
    only_uv = {"uv": "/bin/uv"}.get
    assert missing_program("uv run pytest", root, which=only_uv) == "pytest"  # nothing installs it
    assert missing_program("uv run pytest", root, setup=("uv sync",), which=only_uv) is None
    assert missing_program("ruff check .", root, setup=("uv sync",), which=only_uv) is None
    assert missing_program("mypy .", root, setup=("uv sync",), which=only_uv) == "mypy"
    assert missing_program("./gradlew test", root, which=only_uv) == "./gradlew"
