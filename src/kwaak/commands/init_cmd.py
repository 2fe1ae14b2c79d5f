"""``kwaak init``: detect the project, ask (or take defaults), write a validated ``kwaak.toml``."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from kwaak.commands.app import find_repo_root
from kwaak.config.detect import detect_project
from kwaak.config.interview import DefaultsPrompter, InitFlags, Prompter, QuestionaryPrompter, interview
from kwaak.config.onboarding import InitAnswers, check_rendered, render_init
from kwaak.errors import KwaakError, NotAGitRepository, UsageError

_ENV_REF = re.compile(r'^\s*#?\s*\w+\s*=\s*"env:(\w+)"', re.MULTILINE)


def run(app: None, *, dry_run: bool = False, file: Path | None = None, yes: bool = False, **options: Any) -> int:
    """Create the configuration file.

    Args:
        app: Unused (``init`` needs no existing configuration).
        dry_run: Print the file instead of writing it.
        file: Target path (default ``kwaak.toml`` in the repository root).
        yes: Take detected defaults instead of asking.
        **options: The answer flags, named like :class:`~kwaak.config.interview.InitFlags` fields.

    Raises:
        NotAGitRepository: outside a git repository (unless ``dry_run``).
        KwaakError: the target file exists.
        UsageError: no terminal to ask in and no ``--yes``; a bad flag value.
    """
    root = _root(dry_run=dry_run)
    target = (file if file.is_absolute() else Path.cwd() / file) if file else root / "kwaak.toml"
    if target.exists() and not dry_run:
        msg = f"{target} already exists, skipping initialization"
        raise KwaakError(msg, hint="edit it, delete it first, or write elsewhere with --file")
    answers = interview(detect_project(root), _flags(options), _prompter(yes=yes))
    text = render_init(answers)
    check_rendered(text, root, path=target)
    if dry_run:
        click.echo(f"Dry run, would have written the following to {target}:\n")
        click.echo(text, nl=False)
        return 0
    _write(target, text)
    click.echo(f"Initialized kwaak project in {root}; please review and customize {target}.")
    _print_notes(answers, text)
    return 0


def _root(*, dry_run: bool) -> Path:
    try:
        return find_repo_root(Path.cwd())
    except NotAGitRepository as exc:
        if dry_run:
            return Path.cwd()
        msg = "not a git repository"
        raise NotAGitRepository(msg, hint="run `git init` first (kwaak works on git repositories)") from exc


def _flags(options: dict[str, Any]) -> InitFlags:
    known = {f.name for f in fields(InitFlags)}
    unknown = sorted(set(options) - known)
    if unknown:
        msg = f"unknown init option {unknown[0]!r}"
        raise UsageError(msg)
    values = {k: v for k, v in options.items() if v is not None}
    if "languages" in values:
        values["languages"] = tuple(values["languages"])
    return InitFlags(**values)


def _prompter(*, yes: bool) -> Prompter:
    if yes:
        return DefaultsPrompter()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        msg = "`kwaak init` asks questions but there is no terminal"
        raise UsageError(msg, hint="pass --yes to take the detected defaults (and flags such as --provider)")
    return QuestionaryPrompter()


def _write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
            fh.write(text)
    except FileExistsError as exc:
        msg = f"{target} already exists, skipping initialization"
        raise KwaakError(msg, hint="edit it, or delete it first") from exc
    except OSError as exc:
        msg = f"cannot write {target}: {exc.strerror or exc}"
        raise KwaakError(msg, hint="check the directory's permissions or use --file") from exc


def _print_notes(answers: InitAnswers, text: str) -> None:
    active = [m.group(1) for m in _ENV_REF.finditer(text) if not m.group(0).lstrip().startswith("#")]
    missing = [name for name in dict.fromkeys(active) if name not in os.environ]
    if missing:
        click.echo(f"Note: export {', '.join(missing)} before running kwaak.")
    for note in answers.notes:
        click.echo(f"Note: {note}")
    if answers.executor == "docker":
        click.echo("Note: the docker executor builds the agents' image from ./Dockerfile (it needs git, rg and fd).")
