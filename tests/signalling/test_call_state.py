"""The call state machine: every state x event, the table's shape, random walks."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError, RemoteProtocolError
from enseal.signalling import (
    CALL_TRANSITIONS,
    REMOTE_END_EVENTS,
    CallEvent,
    CallState,
    CallStateError,
    CallStateMachine,
    EndReason,
    EventOrigin,
    UnexpectedCallMessage,
)


def machine_in(state: CallState) -> CallStateMachine:
    """A machine driven into ``state`` through allowed events only."""
    paths = {
        CallState.IDLE: [],
        CallState.OUTGOING_RINGING: [CallEvent.PLACE],
        CallState.INCOMING_RINGING: [CallEvent.INVITE_RECEIVED],
        CallState.CONNECTING: [CallEvent.PLACE, CallEvent.ACCEPT_RECEIVED],
        CallState.ACTIVE: [CallEvent.INVITE_RECEIVED, CallEvent.ACCEPT, CallEvent.MEDIA_UP],
        CallState.ENDED: [CallEvent.PLACE, CallEvent.CANCEL],
    }
    machine = CallStateMachine()
    for event in paths[state]:
        machine.apply(event)
    assert machine.state is state
    return machine


@pytest.mark.parametrize(("state", "event"), list(itertools.product(CallState, CallEvent)))
def test_every_state_and_event(state: CallState, event: CallEvent) -> None:
    machine = machine_in(state)
    reason_before = machine.end_reason
    expected = CALL_TRANSITIONS.get((state, event))
    if expected is None:
        error = CallStateError if event.origin is EventOrigin.LOCAL else UnexpectedCallMessage
        with pytest.raises(error):
            machine.apply(event)
        assert machine.state is state  # a refusal changes nothing
        assert machine.end_reason is reason_before
        assert not machine.allows(event)
        return
    assert machine.allows(event)
    transition = machine.apply(event)
    assert (transition.before, transition.after, transition.event) == (state, expected, event)
    assert machine.state is expected
    if expected is CallState.ENDED:
        assert machine.end_reason is event.ends_with is not None
    else:
        assert machine.end_reason is None


def test_local_refusals_are_local_errors_and_remote_ones_remote() -> None:
    assert issubclass(CallStateError, LocalProtocolError)
    assert issubclass(UnexpectedCallMessage, RemoteProtocolError)


def test_events_that_end_a_call_go_to_ended_and_only_they() -> None:
    for (_, event), after in CALL_TRANSITIONS.items():
        assert (after is CallState.ENDED) == (event.ends_with is not None), event


def test_no_state_is_a_dead_end_except_ended() -> None:
    moves: dict[CallState, set[CallState]] = {state: set() for state in CallState}
    for (before, _), after in CALL_TRANSITIONS.items():
        moves[before].add(after)
    assert moves[CallState.ENDED] == set()
    for state in CallState:
        if state is CallState.ENDED:
            continue
        assert moves[state] - {state}, f"{state} has no way out"
        # ENDED is reachable from every state
        seen, todo = {state}, [state]
        while todo:
            for nxt in moves[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert CallState.ENDED in seen
        assert state is CallState.IDLE or CallState.ENDED in moves[state], f"{state} cannot end directly"


def test_every_event_and_every_end_reason_is_used() -> None:
    used = {event for _, event in CALL_TRANSITIONS}
    assert used == set(CallEvent)
    assert {event.ends_with for event in used if event.ends_with} == set(EndReason)
    assert set(REMOTE_END_EVENTS) == set(EndReason)
    for reason, event in REMOTE_END_EVENTS.items():
        assert event.origin is EventOrigin.REMOTE and event.ends_with is reason


def test_line_occupancy() -> None:
    assert {s for s in CallState if s.occupies_line} == {
        CallState.OUTGOING_RINGING,
        CallState.INCOMING_RINGING,
        CallState.CONNECTING,
        CallState.ACTIVE,
    }


@given(st.lists(st.sampled_from(list(CallEvent)), max_size=30))
def test_random_walks_follow_the_table(events: list[CallEvent]) -> None:
    machine = CallStateMachine()
    state = CallState.IDLE
    for event in events:
        expected = CALL_TRANSITIONS.get((state, event))
        if expected is None:
            with pytest.raises((CallStateError, UnexpectedCallMessage)):
                machine.apply(event)
        else:
            machine.apply(event)
            state = expected
        assert machine.state is state
        if state is CallState.ENDED:
            assert machine.end_reason is not None
