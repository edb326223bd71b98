"""Outcomes of running one test-vector case."""

from __future__ import annotations

from dataclasses import dataclass


class VectorMismatch(AssertionError):
    """A computed value differs from the vector's expected value."""


class VectorSkipped(Exception):
    """The case cannot run here; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One case: a JSON object from a vector file, with a stable id for reports."""

    kind: str
    case_id: str
    data: dict[str, object]


def expect_equal(what: str, got: object, want: object) -> None:
    """Raise :class:`VectorMismatch` naming ``what`` if ``got != want``."""
    if got != want:
        def show(v: object) -> str:
            return v.hex() if isinstance(v, bytes) else repr(v)

        raise VectorMismatch(f"{what}: got {show(got)[:200]}, want {show(want)[:200]}")
