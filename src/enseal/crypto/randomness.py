"""Where randomness comes from. Cores take a ``RandomSource`` so tests can be deterministic;
production passes :func:`system_random` (the OS CSPRNG)."""

from __future__ import annotations

import os
from collections.abc import Callable

RandomSource = Callable[[int], bytes]
"""``random_bytes(n)`` returns ``n`` uniformly random bytes."""


def system_random(n: int) -> bytes:
    return os.urandom(n)
