"""The replay window against a plain model: accept each CTR once, and none below the window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError
from enseal.sframe import FrameReplayError, FrameTooOldError, ReplayWindow

SIZE = 16


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=300))
def test_window_matches_model(counters: list[int]) -> None:
    window = ReplayWindow(SIZE)
    accepted: set[int] = set()
    for counter in counters:
        top = max(accepted, default=-1)
        if counter in accepted and counter > top - SIZE:
            expected: type[Exception] | None = FrameReplayError
        elif counter <= top - SIZE:
            expected = FrameTooOldError
        else:
            expected = None
        if expected is None:
            window.check(counter)
            window.accept(counter)
            accepted.add(counter)
        else:
            with pytest.raises(expected):
                window.check(counter)
        assert len(window.missing) <= SIZE


def test_in_order_fast_path_equivalent() -> None:
    """The receiver's inlined in-order step (top += 1) leaves the window as accept() would."""
    fast, slow = ReplayWindow(SIZE), ReplayWindow(SIZE)
    for counter in range(50):
        fast.top = counter
        slow.accept(counter)
    assert (fast.top, fast.missing) == (slow.top, slow.missing)


def test_size_must_be_positive() -> None:
    with pytest.raises(LocalProtocolError):
        ReplayWindow(0)
