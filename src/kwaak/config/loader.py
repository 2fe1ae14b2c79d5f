"""Load ``kwaak.toml`` the way kwaak does, with errors that name the file and the key.

Precedence, lowest first: the base file (``--config-path``, else ``.config/kwaak.toml``, else
``kwaak.toml``), then ``kwaak.local.toml``, then ``KWAAK__SECTION__KEY`` environment variables.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kwaak.config import defaults
from kwaak.config.model import PROVIDERS, Config
from kwaak.errors import ConfigError

ENV_PREFIX = "KWAAK__"
_ROOT_KEYS = {
    "OpenAI": "openai_api_key",
    "AzureOpenAI": "azure_openai_api_key",
    "Anthropic": "anthropic_api_key",
    "OpenRouter": "open_router_api_key",
}
_HINT_DOCS = "see `kwaak print-config` and docs/configuration.md"


@dataclass
class _Layers:
    """The raw layers and where each came from (for error messages)."""

    base: dict[str, Any]
    base_path: Path
    local: dict[str, Any] = field(default_factory=dict)
    local_path: Path | None = None
    env: dict[str, Any] = field(default_factory=dict)


def find_config_file(root: Path, explicit: Path | None = None) -> Path:
    """Pick the base config file.

    Raises:
        ConfigError: no file exists.
    """
    if explicit is not None:
        path = explicit if explicit.is_absolute() else Path.cwd() / explicit
        if not path.is_file():
            msg = f"config file {str(explicit)!r} not found"
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
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read the file: {exc}"
        raise ConfigError(msg, hint="check that the file exists and is readable UTF-8") from exc
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
    for name, raw in environ.items():
        if not name.upper().startswith(ENV_PREFIX) or name.upper() == ENV_PREFIX:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
        value: Any = raw
        if raw.strip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        node = result
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node[keys[-1]] = value
    return result


def deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into a copy of ``base``; tables merge, everything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    root: Path,
    *,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load, layer, complete and validate the configuration of the repository at ``root``.

    Raises:
        ConfigError: any problem, with the file, key path and a hint.
    """
    environ = os.environ if environ is None else environ
    base_path = find_config_file(root, config_path)
    layers = _Layers(base=read_toml(base_path), base_path=base_path)
    local_path = root / "kwaak.local.toml"
    if local_path.is_file():
        layers.local, layers.local_path = read_toml(local_path), local_path
    layers.env = env_overrides(environ)
    data = deep_merge(deep_merge(layers.base, layers.local), layers.env)
    return validate_config(data, root=root, layers=layers)


def validate_config(data: dict[str, Any], *, root: Path, layers: _Layers | None = None) -> Config:
    """Fill derived defaults and validate a merged config dict.

    Raises:
        ConfigError: the first problem found, as one line with the key path.
    """
    data = dict(data)
    _fill_defaults(data, root)
    _seed_root_keys(data, layers)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, layers) from None


def _fill_defaults(data: dict[str, Any], root: Path) -> None:
    if not data.get("project_name"):
        data["project_name"] = defaults.default_project_name(root)
    name = str(data["project_name"])
    for key, make in (("cache_dir", defaults.default_cache_dir), ("log_dir", defaults.default_log_dir)):
        value = data.get(key)
        if value is None:
            data[key] = make(name)
        elif isinstance(value, str):
            path = Path(value).expanduser()
            data[key] = path if path.is_absolute() else root / path
    git = data.get("git")
    if isinstance(git, dict) and not git.get("main_branch"):
        data["git"] = {**git, "main_branch": defaults.default_main_branch(root)}


def _seed_root_keys(data: dict[str, Any], layers: _Layers | None) -> None:
    llm = data.get("llm")
    if not isinstance(llm, dict):
        return
    seeded = dict(llm)
    for role, table in llm.items():
        if not isinstance(table, dict) or table.get("api_key"):
            continue
        provider = table.get("provider")
        root_key = _ROOT_KEYS.get(provider) if isinstance(provider, str) else None
        if root_key is None:
            continue
        if data.get(root_key):
            seeded[role] = {**table, "api_key": data[root_key]}
        elif not (provider == "OpenAI" and table.get("base_url")):
            source = _source_of(("llm", role), layers)
            msg = f"{source}: llm.{role}: {provider} config requires an `api_key`, and none was provided or available in the root"
            env = {"OpenAI": "OPENAI_API_KEY", "Anthropic": "ANTHROPIC_API_KEY"}.get(provider, "YOUR_KEY_VAR")
            raise ConfigError(msg, hint=f'add `{root_key} = "env:{env}"` at the top level of the file')
    data["llm"] = seeded


def _source_of(loc: tuple[str | int, ...], layers: _Layers | None) -> str:
    if layers is None:
        return "config"
    keys = [str(k) for k in loc]
    for name, layer in (("environment (KWAAK__...)", layers.env), (str(layers.local_path), layers.local)):
        if layer and _has_path(layer, keys):
            return name
    return str(layers.base_path)


def _has_path(data: Mapping[str, Any], keys: list[str]) -> bool:
    node: Any = data
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def _translate(exc: ValidationError, layers: _Layers | None) -> ConfigError:
    err = exc.errors(include_url=False)[0]
    loc = _clean_loc(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    source = _source_of(loc, layers)
    kind = err["type"]
    hint = _HINT_DOCS
    if kind == "extra_forbidden":
        message = f"unknown key `{loc[-1]}`"
        hint = "remove it or check its spelling; " + _HINT_DOCS
    elif kind == "missing":
        message = "is required but missing"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        got = err.get("input", {}).get("provider") if isinstance(err.get("input"), dict) else None
        message = f"unknown provider {got!r}" if got else "a `provider` key is required"
        hint = "provider must be one of: " + ", ".join(PROVIDERS)
    elif kind == "literal_error":
        message = f"invalid value {err.get('input')!r}: {err['msg'].lower()}"
    elif _is_secret(loc):
        message = err["msg"]  # never echo the input of a secret field
    else:
        message = f"{err['msg']} (got {_short(err.get('input'))})"
    return ConfigError(f"{source}: {key}: {message}", hint=hint)


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Discriminated unions put the tag (e.g. "OpenAI") into the location; drop it.
    return tuple(p for p in loc if p not in PROVIDERS)


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    return any(isinstance(p, str) and (p.endswith("api_key") or p in ("env", "headers")) for p in loc)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
