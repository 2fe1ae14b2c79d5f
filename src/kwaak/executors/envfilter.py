"""The host environment an agent's commands inherit, minus every configured secret (by value).

Filtering by *name* (``*_TOKEN``, ``*_KEY``) misses ``env:GH_PAT``-style secrets and variables that
embed a secret (``https://user:<token>@host``); a model that runs ``env`` would copy them into
transcripts, events and the provider's requests. So every executor starts from
:func:`agent_environment`: variables whose value *is or contains* a secret kwaak resolved from its
configuration are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from kwaak.config.model import Config
from kwaak.config.secrets import collect_secrets

MIN_EMBEDDED_SECRET = 8
"""Secrets at least this long are also found inside longer values (shorter ones only as whole values)."""


def without_secrets(env: Mapping[str, str], secrets: Iterable[str]) -> dict[str, str]:
    """``env`` without the variables whose value is, or contains, one of ``secrets``."""
    exact = {s for s in secrets if s}
    embedded = [s for s in exact if len(s) >= MIN_EMBEDDED_SECRET]
    return {k: v for k, v in env.items() if v not in exact and not any(s in v for s in embedded)}


def agent_environment(config: Config, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without the secrets of ``config``."""
    return without_secrets(os.environ if base is None else base, collect_secrets(config))
