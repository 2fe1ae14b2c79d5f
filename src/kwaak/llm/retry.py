"""Exponential backoff for provider calls, with kwaak's ``[backoff]`` settings.

Only :class:`~kwaak.errors.RateLimited` and :class:`~kwaak.errors.Transient` are retried. The wait
before retry *n* (0-based) is ``initial * multiplier**n``, randomized by ±``randomization_factor``;
a ``retry-after`` from the provider replaces it. Retrying stops when the next wait would end after
``max_elapsed_time_sec`` (measured from the first attempt); the last error is then raised. The HTTP
client never retries by itself (except a request on a dropped idle connection), so this is the only
retry policy.

Before each wait, the :data:`retry_notices` callback of the current context (if any) gets a
:class:`RetryNotice`; the backend sets one per submitted op, so retries show up in the chat.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from kwaak.errors import ProviderError, RateLimited

if TYPE_CHECKING:
    from kwaak.config.model import BackoffConfig

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """A provider call failed and will be retried after ``wait`` seconds."""

    endpoint: str
    """The endpoint as configured (``base_url``) or the provider's name."""
    reason: str
    """``rate limited`` or the error message."""
    wait: float
    attempt: int
    """1-based number of the retry about to happen."""
    max_attempts: int
    """How many retries the policy allows at most (an estimate when the provider sets waits)."""


retry_notices: contextvars.ContextVar[Callable[[RetryNotice], None] | None] = contextvars.ContextVar(
    "kwaak_retry_notices", default=None
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait between attempts."""

    initial_interval: float = 15.0
    multiplier: float = 2.0
    randomization_factor: float = 0.05
    max_elapsed_time: float = 120.0

    @classmethod
    def from_config(cls, cfg: BackoffConfig) -> RetryPolicy:
        """Build a policy from the ``[backoff]`` table."""
        return cls(
            initial_interval=cfg.initial_interval_sec,
            multiplier=cfg.multiplier,
            randomization_factor=cfg.randomization_factor,
            max_elapsed_time=cfg.max_elapsed_time_sec,
        )

    def interval(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """The randomized wait before retry number ``attempt`` (0-based)."""
        base = self.initial_interval * self.multiplier**attempt
        spread = base * self.randomization_factor
        return max(0.0, base + (rng or random).uniform(-spread, spread))

    def wait_for(self, error: ProviderError, attempt: int) -> float:
        """The wait after ``error``: the provider's ``retry-after`` when given, else the backoff interval."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after
        return self.interval(attempt)

    def max_retries(self) -> int:
        """How many retries fit in ``max_elapsed_time`` with the nominal (not randomized) waits."""
        elapsed, count = 0.0, 0
        while count < 100:
            elapsed += self.initial_interval * self.multiplier**count
            if elapsed > self.max_elapsed_time or self.initial_interval <= 0:
                break
            count += 1
        return count


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``call`` until it succeeds, retrying retryable :class:`ProviderError`\\s per ``policy``.

    Raises:
        ProviderError: a non-retryable error at once, or the last retryable one when time is up.
    """
    started = clock()
    attempt = 0
    while True:
        try:
            return await call()
        except ProviderError as exc:
            if not exc.retryable:
                raise
            wait = policy.wait_for(exc, attempt)
            if clock() - started + wait > policy.max_elapsed_time:
                raise
            log.warning("provider call failed (%s); retry %d in %.2fs", exc.message, attempt + 1, wait)
            _notify(exc, wait, attempt + 1, policy)
            await sleep(wait)
            attempt += 1


def _notify(exc: ProviderError, wait: float, attempt: int, policy: RetryPolicy) -> None:
    listener = retry_notices.get()
    if listener is None:
        return
    reason = "rate limited" if isinstance(exc, RateLimited) else exc.message.splitlines()[0][:160]
    endpoint = exc.endpoint or "the provider"
    listener(RetryNotice(endpoint, reason, wait, attempt, max(attempt, policy.max_retries())))
