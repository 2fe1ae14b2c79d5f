"""Exponential backoff for provider calls, with kwaak's ``[backoff]`` settings.

Only :class:`~kwaak.errors.RateLimited` and :class:`~kwaak.errors.Transient` are retried. The wait
before retry *n* (0-based) is ``initial * multiplier**n``, randomized by ±``randomization_factor``;
a ``retry-after`` from the provider replaces it. Retrying stops when the next wait would end after
``max_elapsed_time_sec`` (measured from the first attempt); the last error is then raised. The SDKs
run with ``max_retries=0`` so this is the only retry policy.
"""

from __future__ import annotations

import asyncio
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
            await sleep(wait)
            attempt += 1
