"""The configuration as it travels to workers: plain data, with secrets only as ``env:`` names.

Ray logs and stores task arguments, so no secret value may be in them. Every :class:`ApiKey` of the
config becomes ``env:NAME``: the variable it was read from, or a generated ``KWAAK_CLUSTER_SECRET_N``
for ``text:``/``file:`` keys. The values go into the job's runtime environment (``env_vars``), which
Ray hands to worker processes without recording them with the tasks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kwaak.config import Config
from kwaak.config.loader import validate_config
from kwaak.config.secrets import ApiKey

SECRET_PREFIX = "KWAAK_CLUSTER_SECRET_"


def portable_config(config: Config, *, extra_env: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, str]]:
    """``(config data without secret values, environment variables carrying the secrets)``."""
    data: dict[str, Any] = config.model_dump(mode="json", by_alias=True, exclude_unset=False)
    env: dict[str, str] = {}
    for path, key in _secrets(config, ()):
        env_name = key.source.removeprefix("env:") if key.source.startswith("env:") else ""
        if not env_name:
            env_name = f"{SECRET_PREFIX}{len(env)}"
        env[env_name] = key.reveal()
        _set(data, path, f"env:{env_name}")
    for name in extra_env:
        if name in os.environ:
            env[name] = os.environ[name]
    return data, env


def worker_config(data: Mapping[str, Any], root: Path, scratch: Path) -> Config:
    """The config on a worker: paths moved to the task's scratch dir, nothing pushed, no index dir shared."""
    local = dict(data)
    local["cache_dir"] = str(scratch / "cache")
    local["log_dir"] = str(scratch / "logs")
    local["git"] = {**dict(local.get("git") or {}), "auto_push_remote": False}
    local.pop("cluster", None)
    return validate_config(local, root=root)


def _secrets(value: object, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], ApiKey]]:
    found: list[tuple[tuple[str | int, ...], ApiKey]] = []
    if isinstance(value, ApiKey):
        found.append((path, value))
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            found += _secrets(getattr(value, name), (*path, field.alias or name))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found += _secrets(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += _secrets(item, (*path, index))
    return found


def _set(data: Any, path: tuple[str | int, ...], value: str) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
