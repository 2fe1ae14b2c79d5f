"""Load ``kwaak.toml`` the way kwaak does, with errors that name the file and the key.

Precedence, lowest first: the base file (``--config-path``, else ``.config/kwaak.toml``, else
``kwaak.toml``), then ``kwaak.local.toml`` in the repository root, then ``KWAAK__SECTION__KEY``
environment variables. After merging, derived defaults are filled in (project name, paths, main
branch), root API keys are seeded into the ``[llm.*]`` tables, the result is validated, and the
provider capabilities of each role are checked.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kwaak.config import defaults
from kwaak.config.checks import check_capabilities, translate_validation_error
from kwaak.config.model import Config
from kwaak.config.secrets import CONTEXT_KEY, SecretContext
from kwaak.errors import ConfigError

ENV_PREFIX = "KWAAK__"
ROOT_KEYS = {
    "OpenAI": "openai_api_key",
    "AzureOpenAI": "azure_openai_api_key",
    "Anthropic": "anthropic_api_key",
    "OpenRouter": "open_router_api_key",
}
"""Root-level secret seeded into llm tables of each provider that have no ``api_key``."""
_KEY_ENV = {
    "OpenAI": "OPENAI_API_KEY",
    "AzureOpenAI": "AZURE_OPENAI_API_KEY",
    "Anthropic": "ANTHROPIC_API_KEY",
    "OpenRouter": "OPEN_ROUTER_API_KEY",
}


@dataclass
class Layers:
    """The raw layers and where each came from (for error messages)."""

    base: dict[str, Any]
    base_path: Path
    local: dict[str, Any] = field(default_factory=dict)
    local_path: Path | None = None
    env: dict[str, Any] = field(default_factory=dict)

    def source_of(self, loc: tuple[str | int, ...]) -> str:
        """The layer that set the key at ``loc`` (the highest one), for messages."""
        keys = [str(k) for k in loc]
        for _ in range(len(keys)):
            if self.env and _has_path(self.env, keys):
                return "environment (KWAAK__" + "__".join(k.upper() for k in keys) + ")"
            if self.local and _has_path(self.local, keys):
                return str(self.local_path)
            if _has_path(self.base, keys):
                return str(self.base_path)
            keys = keys[:-1]
        return str(self.base_path)


_Layers = Layers  # backwards-compatible name


def find_config_file(root: Path, explicit: Path | None = None) -> Path:
    """Pick the base config file: ``explicit``, else ``.config/kwaak.toml``, else ``kwaak.toml``.

    Raises:
        ConfigError: no file exists.
    """
    if explicit is not None:
        path = explicit.expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        if not path.is_file():
            what = "is a directory, not a file" if path.is_dir() else "not found"
            msg = f"config file {str(explicit)!r} {what}"
            raise ConfigError(msg, hint="check the path given to --config-path")
        return path
    for candidate in (root / ".config" / "kwaak.toml", root / "kwaak.toml"):
        if candidate.is_file():
            return candidate
    msg = f"no kwaak.toml found in {str(root)!r}"
    raise ConfigError(msg, hint="run `kwaak init` to create one, or pass --config-path")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file into a dict.

    Raises:
        ConfigError: unreadable file or a syntax error (with line and column).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{path}: cannot read the file: it is not valid UTF-8 (byte {exc.start})"
        raise ConfigError(msg, hint="save the file as UTF-8") from exc
    except OSError as exc:
        msg = f"{path}: cannot read the file: {exc.strerror or exc}"
        raise ConfigError(msg, hint="check that the file exists and is readable") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: TOML syntax error: {exc}"
        raise ConfigError(msg, hint="fix the TOML syntax at the line and column shown") from exc


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``KWAAK__A__B=value`` variables into a nested dict (keys lowercased).

    Values that look like JSON arrays/objects are parsed; other values stay strings and are
    coerced by validation (``"false"`` → ``False``).
    """
    result: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
        if keys:
            _set_path(result, keys, _env_value(raw))
    return result


def _env_value(raw: str) -> Any:
    if raw.strip().startswith(("[", "{")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _set_path(node: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            return
        node = child
    node[keys[-1]] = value


def deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into a copy of ``base``; tables merge, everything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_layers(root: Path, *, config_path: Path | None = None, environ: Mapping[str, str] | None = None) -> Layers:
    """Read the three layers without validating them.

    Raises:
        ConfigError: a file is missing, unreadable or not valid TOML.
    """
    environ = os.environ if environ is None else environ
    base_path = find_config_file(root, config_path)
    layers = Layers(base=read_toml(base_path), base_path=base_path)
    local_path = root / "kwaak.local.toml"
    if local_path.is_file():
        layers.local, layers.local_path = read_toml(local_path), local_path
    layers.env = env_overrides(environ)
    return layers


def load_config(
    root: Path,
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load, layer, complete and validate the configuration of the repository at ``root``.

    Args:
        root: The repository root (where ``kwaak.toml`` and ``kwaak.local.toml`` live).
        config_path: Use this base file instead of ``.config/kwaak.toml`` / ``kwaak.toml``.
        environ: The environment for ``KWAAK__`` overrides and ``env:`` secrets (default: ``os.environ``).

    Raises:
        ConfigError: any problem, with the file, key path and a hint.
    """
    environ = os.environ if environ is None else environ
    layers = load_layers(root, config_path=config_path, environ=environ)
    data = deep_merge(deep_merge(layers.base, layers.local), layers.env)
    return validate_config(data, root=root, layers=layers, environ=environ)


def validate_config(
    data: Mapping[str, Any],
    *,
    root: Path,
    layers: Layers | None = None,
    environ: Mapping[str, str] | None = None,
    resolve_secrets: bool = True,
) -> Config:
    """Fill derived defaults and validate a merged config dict.

    Args:
        data: The merged raw configuration.
        root: The repository root (defaults and relative paths).
        layers: Where each key came from, for error messages.
        environ: Environment for ``env:`` secrets (default: ``os.environ``).
        resolve_secrets: ``False`` only checks the secrets' syntax (``kwaak init``).

    Raises:
        ConfigError: the first problem found, as one line with the key path.
    """
    data = dict(data)
    check_sizes(data, layers.source_of if layers else None)
    _fill_defaults(data, root)
    _seed_root_keys(data, layers)
    context = {
        CONTEXT_KEY: SecretContext(
            environ=os.environ if environ is None else environ, base_dir=root, resolve=resolve_secrets
        )
    }
    try:
        config = Config.model_validate(data, context=context)
    except ValidationError as exc:
        raise translate_validation_error(exc, layers.source_of if layers else None) from None
    check_capabilities(config, layers.source_of if layers else None)
    return config


Loc = tuple[str | int, ...]
SourceOf = Callable[[Loc], str]
MAX_CONFIG_STRING = 64 * 1024
"""Longest string value kwaak accepts in its configuration (prompts and constraints included)."""


def check_sizes(data: Mapping[str, Any] | Sequence[Any], source_of: SourceOf | None = None, *, _at: Loc = ()) -> None:
    """Refuse absurdly long string values before they reach paths, prompts or error messages.

    Raises:
        ConfigError: naming the key path, the value's length and the limit (never the value).
    """
    items: Iterable[tuple[str | int, Any]] = data.items() if isinstance(data, Mapping) else enumerate(data)
    for key, value in items:
        where = (*_at, key)
        if isinstance(value, str) and len(value) > MAX_CONFIG_STRING:
            path = ".".join(str(k) for k in where)
            origin = f"{source_of(where)}: " if source_of is not None else ""
            msg = f"{origin}{path}: the value is {len(value):,} characters long (at most {MAX_CONFIG_STRING:,})"
            raise ConfigError(msg, hint=f"shorten `{path}`")
        if isinstance(value, Mapping | list | tuple):
            check_sizes(value, source_of, _at=where)


def _fill_defaults(data: dict[str, Any], root: Path) -> None:
    if data.get("project_name") in (None, ""):  # a wrong type (e.g. `[]`) must reach validation
        data["project_name"] = defaults.default_project_name(root)
    name = str(data["project_name"])
    for key, make, suffix in (
        ("cache_dir", defaults.default_cache_dir, ("kwaak",)),
        ("log_dir", defaults.default_log_dir, ("kwaak", "logs")),
    ):
        value = data.get(key)
        if value is None:
            data[key] = make(name)
        elif isinstance(value, str):
            path = Path(value).expanduser()
            path = path if path.is_absolute() else root / path
            # kwaak appends the project name to shared cache/log roots so projects don't collide.
            data[key] = path / defaults.safe_name(name) if path.parts[-len(suffix) :] == suffix else path
    git = data.get("git", {})
    if isinstance(git, dict) and not git.get("main_branch"):
        data["git"] = {**git, "main_branch": defaults.default_main_branch(root)}


def _seed_root_keys(data: dict[str, Any], layers: Layers | None) -> None:
    llm = data.get("llm")
    if not isinstance(llm, dict):
        return
    seeded = dict(llm)
    for role, table in llm.items():
        if not isinstance(table, dict) or table.get("api_key"):
            continue
        provider = table.get("provider")
        if not isinstance(provider, str) or provider not in ROOT_KEYS:
            continue
        root_key = ROOT_KEYS[provider]
        if data.get(root_key):
            seeded[role] = {**table, "api_key": data[root_key]}
        elif not (provider == "OpenAI" and table.get("base_url")):
            raise _missing_key_error(role, provider, root_key, layers)
    data["llm"] = seeded


def _missing_key_error(role: str, provider: str, root_key: str, layers: Layers | None) -> ConfigError:
    source = layers.source_of(("llm", role)) if layers else "config"
    msg = f"{source}: llm.{role}.api_key: {provider} needs an API key and none was given here or as `{root_key}`"
    return ConfigError(msg, hint=f'add `{root_key} = "env:{_KEY_ENV[provider]}"` at the top of the file')


def _has_path(data: Mapping[str, Any], keys: list[str]) -> bool:
    node: Any = data
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True
