"""A displayed security code: decimal digits read aloud or compared in groups."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityCode:
    """``digits`` (all of them) shown in groups of ``group_size``; ``str()`` is the grouped form."""

    digits: str
    group_size: int

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.digits[i : i + self.group_size] for i in range(0, len(self.digits), self.group_size))

    def __str__(self) -> str:
        return " ".join(self.groups)
