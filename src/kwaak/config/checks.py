"""Turn validation failures into one-line :class:`ConfigError`s, and check provider capabilities.

Every message has the form ``<file or layer>: <key.path>: <what is wrong>`` and a hint that says
what to do. Secret values are never echoed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from kwaak.config.model import PROVIDERS, Config
from kwaak.config.providers import AzureOpenAIConfig, LLMConfig, OllamaConfig
from kwaak.errors import ConfigError

SourceOf = Callable[[tuple[str | int, ...]], str]
DOCS_HINT = "see docs/configuration.md for every key"
CHAT_PROVIDERS = ("OpenAI", "AzureOpenAI", "Anthropic", "OpenRouter", "Ollama", "Scripted")
EMBEDDING_PROVIDERS = ("OpenAI", "AzureOpenAI", "Ollama", "FastEmbed", "Scripted")
_HINT_IN_MSG = re.compile(r"^(?P<msg>.*?) \(hint: (?P<hint>.*)\)$")


def translate_validation_error(exc: ValidationError, source_of: SourceOf | None) -> ConfigError:
    """The first validation problem as a :class:`ConfigError` naming the layer and key path."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = _clean_loc(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    source = source_of(loc) if source_of else "config"
    message, hint = _describe(err, loc)
    # Follow-on errors about a parent of the first problem's key are the same problem.
    more = sum(1 for e in errors[1:] if _clean_loc(e["loc"]) != loc[: len(_clean_loc(e["loc"]))])
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return ConfigError(f"{source}: {key}: {message}{suffix}", hint=hint)


def _clean_loc(raw: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Discriminated unions put the tag (e.g. "OpenAI") into the location; a single `language`
    # string is validated as a one-item list, whose index would only confuse.
    loc = tuple(p for p in raw if p not in PROVIDERS)
    if loc and loc[0] in ("language", "languages"):
        return (loc[0],)
    return loc


def _describe(err: Any, loc: tuple[str | int, ...]) -> tuple[str, str]:
    kind = err["type"]
    raw_input = err.get("input")
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, sorted(_all_field_names()), n=1, cutoff=0.75)
        hint = f"did you mean `{close[0]}`?" if close else f"remove it or check its spelling; {DOCS_HINT}"
        return f"unknown key `{name}`", hint
    if kind == "missing":
        return "is required but missing", f"add it; {DOCS_HINT}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        got = raw_input.get("provider") if isinstance(raw_input, dict) else None
        message = f"unknown provider {got!r}" if got else "a `provider` key is required"
        return message, "provider must be one of: " + ", ".join(p for p in PROVIDERS if p not in ("Local", "Testing"))
    if _is_secret(loc):
        # Never echo the input of a secret field.
        return _split_hint(str(err["msg"]).removeprefix("Value error, "), "use `env:VAR`, `file:PATH` or `text:VALUE`")
    if kind == "literal_error":
        return f"invalid value {_short(raw_input)}: {err['msg'][0].lower()}{err['msg'][1:]}", DOCS_HINT
    if kind == "value_error":
        return _split_hint(str(err["msg"]).removeprefix("Value error, "), DOCS_HINT)
    return f"{err['msg'].lower()}, got {_short(raw_input)}", DOCS_HINT


def _split_hint(message: str, default_hint: str) -> tuple[str, str]:
    match = _HINT_IN_MSG.match(message)
    if match:
        return match.group("msg"), match.group("hint")
    return message, default_hint


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    return any(isinstance(p, str) and (p.endswith("api_key") or p in ("env", "headers")) for p in loc)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for model in _models(Config, set()):
        names.update(model.model_fields)
        names.update(f.alias for f in model.model_fields.values() if f.alias)
    return names


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if model in seen:
        return
    seen.add(model)
    yield model
    for info in model.model_fields.values():
        for sub in _nested_models(info.annotation):
            yield from _models(sub, seen)


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _nested_models(arg)


def check_capabilities(config: Config, source_of: SourceOf | None) -> None:
    """Check that each LLM role's provider can do what the role needs.

    Raises:
        ConfigError: e.g. an embedding role on Anthropic, or Azure without ``deployment_id``.
    """
    for role in ("indexing", "query", "embedding"):
        table: LLMConfig = getattr(config.llm, role)
        problem = _capability_problem(role, table)
        if problem is not None:
            key, message, hint = problem
            loc: tuple[str | int, ...] = ("llm", role, key)
            source = source_of(loc) if source_of else "config"
            raise ConfigError(f"{source}: llm.{role}.{key}: {message}", hint=hint)


def _capability_problem(role: str, table: LLMConfig) -> tuple[str, str, str] | None:
    provider = table.provider
    if role == "embedding" and provider in ("Anthropic", "OpenRouter"):
        return "provider", f"{provider} cannot create embeddings", _choose(EMBEDDING_PROVIDERS)
    if role != "embedding" and provider in ("FastEmbed", "Local"):
        return "provider", f"{provider} can only create embeddings, not chat", _choose(CHAT_PROVIDERS)
    if isinstance(table, OllamaConfig):
        if role == "embedding" and table.embedding_model is None:
            return (
                "embedding_model",
                "Ollama needs an embedding model",
                'add `embedding_model = { name = "bge-m3", vector_size = 1024 }`',
            )
        if role != "embedding" and not table.prompt_model:
            return (
                "prompt_model",
                "Ollama needs a prompt model",
                'add `prompt_model = "llama3.1"` (any model you pulled)',
            )
    if isinstance(table, AzureOpenAIConfig):
        for key in ("base_url", "api_version", "deployment_id"):
            if not getattr(table, key):
                return (
                    key,
                    f"AzureOpenAI needs `{key}`",
                    "set base_url, api_version and deployment_id of your Azure deployment",
                )
    return None


def _choose(providers: tuple[str, ...]) -> str:
    return "use one of: " + ", ".join(providers)
