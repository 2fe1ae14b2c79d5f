"""The ``kwaak`` command line: kwaak 0.16.2's verbs and flags, plus ``batch``, ``demo`` and ``sessions``.

This module only parses arguments. Each verb is a row of :data:`VERBS`; its implementation lives in
``kwaak.commands.<module>`` and is imported only when the verb runs (so ``kwaak --help`` stays
fast), then called as ``run(app, **options)`` where ``app`` is the loaded
:class:`~kwaak.commands.app.AppContext` (``None`` for verbs that need no repository).

:func:`main` is the process boundary: a :class:`~kwaak.errors.KwaakError` becomes one message and a
hint on stderr with its exit code, Ctrl-C exits 130, anything else is logged with its traceback and
reported as an internal error.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import click

from kwaak import __version__
from kwaak.errors import KwaakError, UsageError

logger = logging.getLogger(__name__)
HELP = "Run a team of autonomous agents on your code, right from your terminal"
_OUTPUT = click.Choice(["text", "jsonl"])


@dataclass
class GlobalOptions:
    """Flags accepted before or after the verb."""

    config_path: Path | None = None
    skip_indexing: bool = False
    allow_dirty: bool = False


@dataclass(frozen=True)
class Verb:
    """One CLI verb and how to call its implementation."""

    name: str
    module: str
    help: str
    params: Sequence[click.Parameter] = ()
    require_clean: bool = False
    """Refuse to run with uncommitted tracked changes (unless ``--allow-dirty``)."""
    needs_app: bool = True
    """Load the repository and config first; otherwise ``app`` is ``None``."""
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``run`` (e.g. which evaluation)."""
    check: Callable[[dict[str, Any]], None] | None = None
    """Validate option combinations (raise :class:`UsageError`)."""


def _store_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value not in (None, False) and param.name:
        setattr(ctx.ensure_object(GlobalOptions), param.name, value)


def _global_params() -> list[click.Parameter]:
    common: dict[str, Any] = {"expose_value": False, "callback": _store_global, "is_eager": True}
    return [
        click.Option(
            ["-c", "--config-path"],
            type=click.Path(path_type=Path),
            help="Use this config file instead of kwaak.toml / .config/kwaak.toml.",
            **common,
        ),
        click.Option(
            ["-s", "--skip-indexing"], is_flag=True, help="Do not index the repository before starting.", **common
        ),
        click.Option(["--allow-dirty"], is_flag=True, help="Skip the uncommitted-changes check.", **common),
    ]


def _opt(*decls: str, **attrs: Any) -> click.Option:
    return click.Option(list(decls), **attrs)


def _arg(name: str, **attrs: Any) -> click.Argument:
    return click.Argument([name], **attrs)


def _check_ragas(options: dict[str, Any]) -> None:
    if options.get("input") and options.get("questions"):
        msg = "`--input` and `--questions` cannot be used together"
        raise UsageError(msg, hint="give questions either in a file or with -q")


def _check_batch(options: dict[str, Any]) -> None:
    if not options.get("file") and not options.get("github_issues"):
        msg = "`kwaak batch` needs a task file or --github-issues"
        raise UsageError(msg, hint="e.g. `kwaak batch tasks.toml` or `kwaak batch --github-issues label:kwaak`")


def _check_sessions(options: dict[str, Any]) -> None:
    if options["action"] not in ("list", "prune") and not options.get("session_id"):
        msg = f"`kwaak sessions {options['action']}` needs a session id"
        raise UsageError(msg, hint="list the sessions with `kwaak sessions`")


_SESSION_ACTIONS = ["list", "show", "resume", "delete", "prune", "review", "land", "resolve", "undo"]
_PRUNE_PARAMS = [
    _opt("--merged", is_flag=True, help="prune: only landed sessions and those merged into the main branch."),
    _opt("--older-than", help="prune: only sessions not updated for this long (30m, 12h, 7d, 2w)."),
    _opt("--dry-run", is_flag=True, help="prune: only print what would be removed."),
]
_LAND_PARAMS = [
    _opt("--squash", "mode", flag_value="squash", help="land: one commit with a generated message."),
    _opt("--merge", "mode", flag_value="merge", help="land: a merge commit."),
    _opt("--rebase", "mode", flag_value="rebase", help="land: replay the agent's commits on the base."),
    _opt("--base", help="land/resolve/review: the base branch (default: git.main_branch)."),
    _opt("--commit", help="undo: reset the agent's branch to this commit (default: before its last turn)."),
]

_BEST_OF = [
    _opt("--n", "n", type=click.IntRange(min=1, max=16), help="Best-of-N: run the task on N agents, then compare."),
    _opt("--models", help="Best-of-N: query models, comma-separated (cycled over the N agents)."),
    _opt("--executors", help="Best-of-N: executors (docker, sandbox, local), comma-separated."),
]

_MODEL = _opt("--model", help="Another model of the [llm.query] provider (e.g. gpt-4o) for this agent.")
_RUN_LIMITS = [
    _opt("--output", type=_OUTPUT, default="text", show_default=True, help="Human text or one JSON event per line."),
    _opt("--max-steps", type=click.IntRange(min=1), help="Stop after this many model requests."),
    _opt("--max-cost", type=click.FloatRange(min=0, min_open=True), help="Stop after spending this many US dollars."),
    _opt("--timeout", type=click.FloatRange(min=0, min_open=True), help="Stop after this many seconds."),
]

_START_FROM = _opt(
    "--start-from",
    type=click.Choice(["head", "main", "origin"]),
    help="Start the agent's branch from HEAD, the main branch, or a freshly fetched origin/<main>.",
)

INIT_PARAMS: list[click.Parameter] = [
    _opt("--dry-run", is_flag=True, help="Print the file instead of writing it."),
    _opt("--file", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of kwaak.toml."),
    _opt("-y", "--yes", is_flag=True, help="Do not ask; take detected defaults and the flags below."),
    _opt("--project-name", help="Project name (default: from the origin remote or the directory)."),
    _opt("--language", "languages", multiple=True, help="Language(s) (default: detected). Repeatable."),
    _opt("--main-branch", help="Base branch for pull requests (default: detected)."),
    _opt("--provider", help="OpenAI, Anthropic, OpenRouter, Ollama, AzureOpenAI or Scripted (offline)."),
    _opt("--api-key", help="Secret for the provider, e.g. env:OPENAI_API_KEY."),
    _opt("--base-url", help="Custom endpoint of the provider (OpenAI-compatible, Ollama, Azure)."),
    _opt("--azure-api-version", help="AzureOpenAI: api_version."),
    _opt("--azure-deployment", help="AzureOpenAI: deployment_id."),
    _opt("--indexing-model", help="Small, fast model (titles, commit messages, summaries)."),
    _opt("--query-model", help="Strong model used by the agents."),
    _opt("--embedding-model", help="Embedding model."),
    _opt("--vector-size", type=click.IntRange(min=1), help="Ollama: embedding vector size."),
    _opt("--github-token", help="GitHub token as env:VAR or file:PATH."),
    _opt("--auto-push/--no-auto-push", default=None, help="Push the agents' branches after each change."),
    _opt("--test-command", help="Command that runs the tests."),
    _opt("--coverage-command", help="Command that reports coverage."),
    _opt("--lint-command", help="Command that lints and fixes (runs after each change)."),
    _opt("--setup-command", help="Command run once in each agent's new worktree (e.g. `npm ci`); empty for none."),
    _opt("--executor", type=click.Choice(["docker", "sandbox", "local"]), help="Where agents run commands."),
]

VERBS: list[Verb] = [
    Verb("tui", "tui_cmd", "Start the terminal UI (the default).", require_clean=True),
    Verb("init", "init_cmd", "Create a kwaak.toml for this repository.", INIT_PARAMS, needs_app=False),
    Verb("query", "query_cmd", "Ask a question about the code base.", [_opt("-q", "--query", required=True)]),
    Verb(
        "run-agent",
        "run_agent",
        "Run one agent headless until it finishes.",
        [
            _opt("-i", "--initial-message", required=True, help="The task."),
            *_RUN_LIMITS,
            *_BEST_OF,
            _START_FROM,
            _MODEL,
        ],
        require_clean=True,
    ),
    Verb("index", "index_cmd", "Index the repository."),
    Verb(
        "search",
        "search_cmd",
        "Search the code index.",
        [
            _arg("query"),
            _opt("-k", type=click.IntRange(min=1), default=10, show_default=True, help="Number of results."),
            _opt("--files", is_flag=True, help="Print only the matching file paths."),
            _opt("--json", "as_json", is_flag=True, help="Print JSON."),
            _opt("--explain", is_flag=True, help="Show which signals ranked each result, and at which rank."),
        ],
    ),
    Verb("test-tool", "test_tool", "Run one tool by name.", [_arg("name"), _arg("args_json", required=False)]),
    Verb("list-tools", "list_tools", "List the agents' tools.", [_opt("--json", "as_json", is_flag=True)]),
    Verb("print-config", "print_config", "Print the effective configuration (secrets masked)."),
    Verb(
        "clear-cache",
        "clear_cache",
        "Delete this project's cache and index (asks first).",
        [_opt("-y", "--yes", is_flag=True, help="Do not ask.")],
    ),
    Verb(
        "batch",
        "batch_cmd",
        "Run a list of tasks as agents in parallel.",
        [
            _arg("file", type=click.Path(path_type=Path, dir_okay=False), required=False),
            _opt("--github-issues", help="Take tasks from GitHub issues matching this search, e.g. label:kwaak."),
            _opt("--parallel", type=click.IntRange(min=1), help="Agents at the same time."),
            _opt("--output", type=_OUTPUT, default="text", show_default=True),
            _opt(
                "--cluster",
                help="Run the tasks on a Ray cluster: ray://HOST:10001, HOST:PORT or auto ([cluster] address).",
            ),
            *_BEST_OF,
        ],
        require_clean=True,
        check=_check_batch,
    ),
    Verb(
        "demo",
        "demo_cmd",
        "Watch a scripted agent fix a sample project (offline).",
        [_opt("--headless", is_flag=True)],
        needs_app=False,
    ),
    Verb(
        "sessions",
        "sessions_cmd",
        "List, resume, review, land or prune saved sessions.",
        [
            _arg("action", type=click.Choice(_SESSION_ACTIONS), default="list", required=False),
            _arg("session_id", required=False),
            _opt("-m", "--message", help="resume: send this message instead of retrying the last step."),
            _opt("--output", type=_OUTPUT, default="text", show_default=True),
            *_LAND_PARAMS,
            *_PRUNE_PARAMS,
        ],
        check=_check_sessions,
    ),
]

EVAL_VERBS: list[Verb] = [
    Verb(
        "patch",
        "eval_cmd",
        "Evaluate the patch tool.",
        [
            _opt("-i", "--iterations", type=click.IntRange(min=1), default=1),
            _opt("-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="Results dir (./evals)."),
        ],
        fixed={"which": "patch"},
    ),
    Verb(
        "ragas",
        "eval_cmd",
        "Export a RAGAS dataset of query answers.",
        [
            _opt("-r", "--record-ground-truth", is_flag=True),
            _opt("-i", "--input", type=click.Path(path_type=Path, dir_okay=False)),
            _opt("-q", "--questions", multiple=True),
            _opt("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True),
        ],
        fixed={"which": "ragas"},
        check=_check_ragas,
    ),
    Verb(
        "swe-bench",
        "eval_cmd",
        "Run SWE-bench instances through run-agent.",
        [
            _opt("--instances", type=click.Path(path_type=Path, dir_okay=False), required=True, help="JSONL file."),
            _opt("--output", type=click.Path(path_type=Path, file_okay=False), required=True, help="Results dir."),
            _opt("--parallel", type=click.IntRange(min=1), default=1, help="Instances at the same time."),
            _opt("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per agent (3600)."),
            _opt("--max-steps", type=click.IntRange(min=1), help="Model requests per agent."),
            _opt("--max-cost", type=click.FloatRange(min=0, min_open=True), help="US dollars per agent."),
            _opt("--model-name", help="model_name_or_path in the predictions (kwaak-<version>)."),
            _opt("--instance", multiple=True, help="Run only this instance id. Repeatable."),
            _opt("--index", is_flag=True, help="Index each repository first (initial context, explain_code)."),
        ],
        fixed={"which": "swe-bench"},
    ),
]


def load_implementation(module: str, verb: str) -> Callable[..., int]:
    """Import ``kwaak.commands.<module>`` and return its ``run``.

    Raises:
        UsageError: the module or its ``run`` does not exist in this build.
    """
    full = f"kwaak.commands.{module}"
    try:
        mod = importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:
            raise
        mod = None
    run = getattr(mod, "run", None)
    if not callable(run):
        msg = f"`kwaak {verb}` is not available yet in this build ({full}.run is missing)"
        raise UsageError(msg, hint="see `kwaak --help` for the commands of this version")
    return run  # type: ignore[no-any-return]


def dispatch(verb: Verb, options: dict[str, Any]) -> int:
    """Run ``verb``: check options, load its implementation and the app, call ``run``."""
    if verb.check is not None:
        verb.check(options)
    run = load_implementation(verb.module, verb.name)
    app = None
    if verb.needs_app:
        from kwaak.commands.app import load_app

        flags = click.get_current_context().find_object(GlobalOptions) or GlobalOptions()
        app = load_app(
            flags.config_path,
            skip_indexing=flags.skip_indexing,
            allow_dirty=flags.allow_dirty,
            require_clean=verb.require_clean,
        )
    return int(run(app, **verb.fixed, **options) or 0)


def _command(verb: Verb) -> click.Command:
    def callback(**options: Any) -> int:
        return dispatch(verb, options)

    return click.Command(verb.name, callback=callback, params=[*verb.params, *_global_params()], help=verb.help)


class _Cli(click.Group):
    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Keep the table order (kwaak's), not alphabetical.
        rows = [(name, cmd.get_short_help_str(80)) for name, cmd in self.commands.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def build_cli() -> click.Group:
    """The ``kwaak`` command group, built from :data:`VERBS`."""
    group = _Cli(
        "kwaak",
        help=HELP,
        params=_global_params(),
        invoke_without_command=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        callback=click.pass_context(_default_to_tui),
    )
    click.version_option(__version__, "-V", "--version", prog_name="kwaak", message="%(prog)s %(version)s")(group)
    for verb in VERBS:
        group.add_command(_command(verb))
    evals = _Cli("eval", help="Run evaluations (patch tool, RAGAS export, SWE-bench).")
    for verb in EVAL_VERBS:
        evals.add_command(_command(replace(verb, name=f"eval {verb.name}")), verb.name)
    group.add_command(evals)
    return group


def _default_to_tui(ctx: click.Context) -> int | None:
    ctx.ensure_object(GlobalOptions)
    if ctx.invoked_subcommand is None:
        return dispatch(VERBS[0], {})
    return None


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (what :func:`main` exits with)."""
    try:
        result = build_cli().main(
            args=list(argv) if argv is not None else None, prog_name="kwaak", standalone_mode=False
        )
    except KwaakError as exc:
        _print_error(exc.message, exc.hint)
        logger.info("exit with %s: %s", type(exc).__name__, exc.message)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # the process boundary: anything else is a bug
        return _internal_error(exc)
    return result if isinstance(result, int) else 0


def _print_error(message: str, hint: str | None) -> None:
    from kwaak.textsafe import escape_controls  # messages may quote model-made names and paths

    click.echo(click.style("error: ", fg="red", bold=True) + escape_controls(message), err=True)
    if hint:
        click.echo(click.style("hint: ", fg="yellow") + escape_controls(hint), err=True)


def _internal_error(exc: Exception) -> int:
    from kwaak.logs import ensure_log_file

    try:
        log_file: Path | str = ensure_log_file()
        logger.critical("internal error", exc_info=exc)
    except KwaakError:
        log_file = "the log (which could not be written)"
    _print_error(f"internal error ({type(exc).__name__}), see {log_file}", "please report it with the log file")
    return 1


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    sys.exit(run(argv))
