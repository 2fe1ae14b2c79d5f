"""What ``kwaak init`` can learn from a repository without asking: languages, commands, git facts.

Languages come from marker files (several may match: a Rust crate with Python bindings is both);
commands come from the primary language's usual tools, using what the project declares
(``package.json`` scripts, ``pyproject.toml`` tool sections, lock files, wrapper scripts).
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kwaak.config import defaults

# Checked in kwaak's order; the first match is the primary language.
_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Rust", ("Cargo.toml",)),
    ("Ruby", ("Gemfile",)),
    ("Typescript", ("tsconfig.json",)),
    ("Javascript", ("package.json",)),
    ("Python", ("pyproject.toml", "requirements.txt", "Pipfile", "setup.py", "setup.cfg")),
    ("Java", ("build.gradle", "build.gradle.kts", "pom.xml")),
    ("Go", ("go.mod",)),
    ("Solidity", ("foundry.toml", "hardhat.config.js", "hardhat.config.ts")),
    ("C++", ("CMakeLists.txt",)),
)
_EXTENSIONS = {
    ".rs": "Rust",
    ".rb": "Ruby",
    ".ts": "Typescript",
    ".tsx": "Typescript",
    ".js": "Javascript",
    ".jsx": "Javascript",
    ".py": "Python",
    ".java": "Java",
    ".go": "Go",
    ".sol": "Solidity",
    ".c": "C",
    ".cpp": "C++",
    ".cc": "C++",
}
_SKIP_DIRS = frozenset({"node_modules", "target", "vendor", "build", "dist", "venv", "__pycache__"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Commands:
    """Detected project commands (``None`` when unknown)."""

    test: str | None = None
    coverage: str | None = None
    lint_and_fix: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectFacts:
    """Everything ``kwaak init`` detects."""

    root: Path
    project_name: str
    languages: tuple[str, ...]
    main_branch: str
    owner: str | None
    repository: str | None
    commands: Commands
    executor: str
    has_dockerfile: bool


def detect_project(root: Path) -> ProjectFacts:
    """Inspect ``root`` (a git work tree) and return what ``kwaak init`` offers as defaults."""
    url = defaults.origin_url(root)
    parsed = defaults.owner_and_repo(url) if url else None
    languages = detect_languages(root)
    has_dockerfile = (root / "Dockerfile").is_file()
    return ProjectFacts(
        root=root,
        project_name=defaults.default_project_name(root),
        languages=languages,
        main_branch=defaults.default_main_branch(root),
        owner=parsed[0] if parsed else None,
        repository=parsed[1] if parsed else None,
        commands=detect_commands(root, languages[0]) if languages else Commands(),
        executor=detect_executor(has_dockerfile=has_dockerfile),
        has_dockerfile=has_dockerfile,
    )


def detect_languages(root: Path) -> tuple[str, ...]:
    """Languages whose marker files exist, primary first; else the most common source extension."""
    found = [lang for lang, markers in _MARKERS if any((root / m).is_file() for m in markers)]
    if "Typescript" in found and "Javascript" in found:
        found.remove("Javascript")  # package.json belongs to the TypeScript project
    if found:
        return tuple(found)
    counts: dict[str, int] = {}
    for path in _sample_files(root):
        lang = _EXTENSIONS.get(path.suffix)
        if lang:
            counts[lang] = counts.get(lang, 0) + 1
    return (max(counts, key=lambda k: counts[k]),) if counts else ()


def _sample_files(root: Path, limit: int = 5000) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS]
        files.extend(Path(dirpath) / name for name in filenames)
        if len(files) >= limit:
            break
    return files


def detect_executor(*, has_dockerfile: bool) -> str:
    """``docker`` with a Dockerfile and docker installed, else ``sandbox`` with bubblewrap, else ``local``."""
    if has_dockerfile and shutil.which("docker"):
        return "docker"
    if shutil.which("bwrap"):
        return "sandbox"
    return "local"


def detect_commands(root: Path, language: str) -> Commands:
    """Test, coverage and lint commands for the primary ``language``."""
    detector = _DETECTORS.get(language)
    return detector(root) if detector else Commands()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _python(root: Path) -> Commands:
    pyproject = _read_toml(root / "pyproject.toml")
    text = _read_text(root / "pyproject.toml") + _read_text(root / "requirements-dev.txt")
    text += _read_text(root / "requirements.txt") + _read_text(root / "setup.cfg")
    runner = "uv run " if (root / "uv.lock").is_file() else "poetry run " if (root / "poetry.lock").is_file() else ""
    tools = pyproject.get("tool", {})
    uses_pytest = "pytest" in text or (root / "pytest.ini").is_file() or (root / "conftest.py").is_file()
    test = f"{runner}pytest" if uses_pytest or (root / "tests").is_dir() else f"{runner}python -m unittest"
    if "pytest-cov" in text:
        coverage = f"{runner}pytest --cov"
    else:
        coverage = (
            f"{runner}coverage run -m {'pytest' if test.endswith('pytest') else 'unittest'} && {runner}coverage report"
        )
    lint = None
    if "ruff" in tools or "ruff" in text or (root / "ruff.toml").is_file():
        lint = f"{runner}ruff check --fix . && {runner}ruff format ."
    elif "black" in tools or "black" in text:
        lint = f"{runner}black ."
    return Commands(test=test, coverage=coverage, lint_and_fix=lint)


def _rust(root: Path) -> Commands:
    return Commands(
        test="cargo test --no-fail-fast --color=never",
        coverage="cargo llvm-cov --summary-only",
        lint_and_fix="cargo clippy --fix --allow-dirty --allow-staged && cargo fmt",
    )


def _go(root: Path) -> Commands:
    golangci = any((root / name).is_file() for name in (".golangci.yml", ".golangci.yaml", ".golangci.toml"))
    return Commands(
        test="go test ./...",
        coverage="go test -cover ./...",
        lint_and_fix="golangci-lint run --fix" if golangci else "gofmt -w .",
    )


def _node(root: Path) -> Commands:
    try:
        package = json.loads(_read_text(root / "package.json") or "{}")
    except json.JSONDecodeError:
        package = {}
    scripts: dict[str, Any] = package.get("scripts", {}) if isinstance(package, dict) else {}
    manager = "pnpm" if (root / "pnpm-lock.yaml").is_file() else "yarn" if (root / "yarn.lock").is_file() else "npm"

    def script(*names: str) -> str | None:
        for name in names:
            if name in scripts:
                return f"{manager} test" if name == "test" else f"{manager} run {name}"
        return None

    eslint = any(root.glob("eslint.config.*")) or any(root.glob(".eslintrc*"))
    lint = script("lint:fix", "fix") or (f"{manager} run lint -- --fix" if "lint" in scripts else None)
    return Commands(
        test=script("test"),
        coverage=script("coverage", "test:coverage", "test:cov"),
        lint_and_fix=lint or ("npx eslint --fix ." if eslint else None),
    )


def _ruby(root: Path) -> Commands:
    gems = _read_text(root / "Gemfile") + _read_text(root / "Gemfile.lock")
    rspec = "rspec" in gems or (root / "spec").is_dir()
    test = "bundle exec rspec" if rspec else "bundle exec rake test"
    return Commands(
        test=test,
        coverage=f"COVERAGE=true {test}" if "simplecov" in gems else None,
        lint_and_fix="bundle exec rubocop -a" if "rubocop" in gems else None,
    )


def _java(root: Path) -> Commands:
    if (root / "pom.xml").is_file():
        pom = _read_text(root / "pom.xml")
        return Commands(
            test="mvn test",
            coverage="mvn test jacoco:report" if "jacoco" in pom else None,
            lint_and_fix="mvn spotless:apply" if "spotless" in pom else None,
        )
    gradle = "./gradlew" if (root / "gradlew").is_file() else "gradle"
    build = _read_text(root / "build.gradle") + _read_text(root / "build.gradle.kts")
    return Commands(
        test=f"{gradle} test",
        coverage=f"{gradle} test jacocoTestReport" if "jacoco" in build else None,
        lint_and_fix=f"{gradle} spotlessApply" if "spotless" in build else None,
    )


_DETECTORS: dict[str, Callable[[Path], Commands]] = {
    "Python": _python,
    "Rust": _rust,
    "Go": _go,
    "Javascript": _node,
    "Typescript": _node,
    "Ruby": _ruby,
    "Java": _java,
}
