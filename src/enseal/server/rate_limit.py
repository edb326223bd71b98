"""Per-key token-bucket rate limits (the key directory's "per-device rate limits", sign-in and
enrollment attempts). In-memory, per process: a scaled-out deployment limits per node.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final

from enseal.server.errors import RateLimited

MAX_BUCKETS: Final = 100_000
"""Buckets kept; the least recently used is dropped beyond this (a dropped bucket is full)."""


@dataclass(frozen=True, slots=True)
class Rate:
    burst: int
    per_minute: float


class Limit(Enum):
    """Each limit: burst size and sustained refill per minute."""

    KEY_PACKAGE_PUBLISH = Rate(burst=20, per_minute=10)
    """Publish requests per device."""
    KEY_PACKAGE_CLAIM = Rate(burst=60, per_minute=60)
    """Claim requests per device."""
    SIGN_IN = Rate(burst=10, per_minute=10)
    """Challenges and token requests per device."""
    ENROLLMENT = Rate(burst=10, per_minute=5)
    """Registration attempts per user address (slows guessing of enrollment codes)."""
    BOOTSTRAP = Rate(burst=5, per_minute=5)
    """Bootstrap attempts, server-wide."""


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: OrderedDict[tuple[Limit, str], tuple[float, float]] = OrderedDict()

    def check(self, limit: Limit, key: str) -> None:
        """Take one token for ``key`` under ``limit``; :class:`RateLimited` if none is left."""
        rate = limit.value
        now = self._clock()
        tokens, last = self._buckets.pop((limit, key), (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - last) * rate.per_minute / 60)
        if tokens < 1:
            self._buckets[(limit, key)] = (tokens, now)
            retry_after = math.ceil((1 - tokens) * 60 / rate.per_minute)
            raise RateLimited(f"rate limit {limit.name.lower()} exceeded", retry_after=retry_after)
        self._buckets[(limit, key)] = (tokens - 1, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
