"""Secret values: hidden from ``repr``/``str``, compared in constant time.

Every key, ratchet secret and private key in Enseal is held in a :class:`Secret` (or a subclass
naming what it is). ``reveal()`` is the one, greppable way to get the bytes out, used only where a
primitive needs them. Secrets are not hashable (so they cannot leak into dict keys or logs by
accident) and do not pickle.
"""

from __future__ import annotations

import hmac
from typing import NoReturn


class Secret:
    """Bytes that must not be shown or compared in variable time."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    def reveal(self) -> bytes:
        """The secret bytes, for handing to a primitive. Never log the result."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._value)} bytes hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is a secret and cannot be pickled")


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two byte strings in time independent of where they differ."""
    return hmac.compare_digest(a, b)
