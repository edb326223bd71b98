"""The state machine of a 1:1 call, as one device (or the server) sees it.

States are :class:`CallState`; inputs are :class:`CallEvent` s; the only moves are those of
:data:`CALL_TRANSITIONS`. Every event has an origin (:class:`EventOrigin`): a *local* event is
something this side decided (a user command, a timer, the media path coming up), a *remote*
event is a message from the peer or the server. An event the table does not allow in the
current state raises :class:`~enseal.signalling.errors.CallStateError` when it is local (a bug
in the caller) and :class:`~enseal.signalling.errors.UnexpectedCallMessage` when it is remote
(bad peer input). ``ENDED`` is the only state without a way out; it records an
:class:`EndReason`.

The server tracks each call with the same machine *from the caller's side*: what the caller's
device sends is local, what the callee's devices send and what the server itself decides (busy,
refused by policy, ring timeout) is remote. Decision record:
docs/decisions/0600-call-state-machine.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from enseal.signalling.errors import CallStateError, UnexpectedCallMessage

RING_TIMEOUT_SECONDS: Final = 45.0
"""How long a call rings (from placing it, or from the invite arriving) before it ends as
timed out."""

CONNECT_TIMEOUT_SECONDS: Final = 20.0
"""How long a call may stay in CONNECTING (keys agreed, candidates exchanged, direct path tried,
relay fallback) before it ends as failed."""


class CallState(enum.Enum):
    IDLE = "idle"
    """Nothing happened yet."""
    OUTGOING_RINGING = "outgoing ringing"
    """This side placed the call; the callee's devices are being rung."""
    INCOMING_RINGING = "incoming ringing"
    """An invite arrived; this device rings."""
    CONNECTING = "connecting"
    """Accepted; keys, candidates and the media path are being set up."""
    ACTIVE = "active"
    """Media flows."""
    ENDED = "ended"
    """Over, with an :class:`EndReason`. No event leaves this state."""

    @property
    def ringing(self) -> bool:
        return self in (CallState.OUTGOING_RINGING, CallState.INCOMING_RINGING)

    @property
    def occupies_line(self) -> bool:
        """Whether a user with a call in this state is busy for any other call (one call at a
        time: a ringing, connecting or active call makes a new invite end as BUSY)."""
        return self not in (CallState.IDLE, CallState.ENDED)


class EndReason(enum.Enum):
    """Why a call ended. The values are the ``reason`` of a ``call.end`` message."""

    DECLINED = "declined"
    CANCELLED = "cancelled"
    BUSY = "busy"
    HUNG_UP = "hung_up"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    REFUSED_BY_POLICY = "refused_by_policy"
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    """Another device of the callee accepted the call (sent by the server to the others)."""


class EventOrigin(enum.Enum):
    LOCAL = "local"
    REMOTE = "remote"


class CallEvent(enum.Enum):
    """What can happen to a call; ``origin`` says who causes it, ``ends_with`` the end reason
    for events that end the call."""

    # local: commands, timers, media
    PLACE = ("place", EventOrigin.LOCAL, None)
    ACCEPT = ("accept", EventOrigin.LOCAL, None)
    DECLINE = ("decline", EventOrigin.LOCAL, EndReason.DECLINED)
    CANCEL = ("cancel", EventOrigin.LOCAL, EndReason.CANCELLED)
    REPLY_BUSY = ("reply busy", EventOrigin.LOCAL, EndReason.BUSY)
    HANG_UP = ("hang up", EventOrigin.LOCAL, EndReason.HUNG_UP)
    RING_TIMEOUT = ("ring timeout", EventOrigin.LOCAL, EndReason.TIMED_OUT)
    CONNECT_TIMEOUT = ("connect timeout", EventOrigin.LOCAL, EndReason.FAILED)
    MEDIA_UP = ("media up", EventOrigin.LOCAL, None)
    MEDIA_FAILED = ("media failed", EventOrigin.LOCAL, EndReason.FAILED)
    # remote: messages from the peer or the server
    INVITE_RECEIVED = ("invite received", EventOrigin.REMOTE, None)
    RINGING_RECEIVED = ("ringing received", EventOrigin.REMOTE, None)
    ACCEPT_RECEIVED = ("accept received", EventOrigin.REMOTE, None)
    CONNECTED_RECEIVED = ("connected received", EventOrigin.REMOTE, None)
    CANDIDATES_RECEIVED = ("candidates received", EventOrigin.REMOTE, None)
    WELCOME_RECEIVED = ("welcome received", EventOrigin.REMOTE, None)
    MEDIA_KEY_RECEIVED = ("media key received", EventOrigin.REMOTE, None)
    DECLINED_RECEIVED = ("declined received", EventOrigin.REMOTE, EndReason.DECLINED)
    CANCELLED_RECEIVED = ("cancelled received", EventOrigin.REMOTE, EndReason.CANCELLED)
    BUSY_RECEIVED = ("busy received", EventOrigin.REMOTE, EndReason.BUSY)
    HUNG_UP_RECEIVED = ("hung up received", EventOrigin.REMOTE, EndReason.HUNG_UP)
    TIMED_OUT_RECEIVED = ("timed out received", EventOrigin.REMOTE, EndReason.TIMED_OUT)
    FAILED_RECEIVED = ("failed received", EventOrigin.REMOTE, EndReason.FAILED)
    REFUSED_BY_POLICY_RECEIVED = ("refused by policy received", EventOrigin.REMOTE, EndReason.REFUSED_BY_POLICY)
    ANSWERED_ELSEWHERE_RECEIVED = (
        "answered elsewhere received",
        EventOrigin.REMOTE,
        EndReason.ANSWERED_ELSEWHERE,
    )

    def __init__(self, label: str, origin: EventOrigin, ends_with: EndReason | None) -> None:
        self.label = label
        self.origin = origin
        self.ends_with = ends_with


REMOTE_END_EVENTS: Final[dict[EndReason, CallEvent]] = {
    event.ends_with: event for event in CallEvent if event.origin is EventOrigin.REMOTE and event.ends_with is not None
}
"""The remote event a ``call.end`` message with each reason is."""

_S = CallState
_E = CallEvent

CALL_TRANSITIONS: Final[dict[tuple[CallState, CallEvent], CallState]] = {
    (_S.IDLE, _E.PLACE): _S.OUTGOING_RINGING,
    (_S.IDLE, _E.INVITE_RECEIVED): _S.INCOMING_RINGING,
    # the caller's side
    (_S.OUTGOING_RINGING, _E.RINGING_RECEIVED): _S.OUTGOING_RINGING,
    (_S.OUTGOING_RINGING, _E.ACCEPT_RECEIVED): _S.CONNECTING,
    (_S.OUTGOING_RINGING, _E.CANCEL): _S.ENDED,
    (_S.OUTGOING_RINGING, _E.RING_TIMEOUT): _S.ENDED,
    (_S.OUTGOING_RINGING, _E.DECLINED_RECEIVED): _S.ENDED,
    (_S.OUTGOING_RINGING, _E.BUSY_RECEIVED): _S.ENDED,
    (_S.OUTGOING_RINGING, _E.TIMED_OUT_RECEIVED): _S.ENDED,
    (_S.OUTGOING_RINGING, _E.FAILED_RECEIVED): _S.ENDED,
    (_S.OUTGOING_RINGING, _E.REFUSED_BY_POLICY_RECEIVED): _S.ENDED,
    # the callee's side (one of possibly several ringing devices)
    (_S.INCOMING_RINGING, _E.ACCEPT): _S.CONNECTING,
    (_S.INCOMING_RINGING, _E.DECLINE): _S.ENDED,
    (_S.INCOMING_RINGING, _E.REPLY_BUSY): _S.ENDED,
    (_S.INCOMING_RINGING, _E.RING_TIMEOUT): _S.ENDED,
    (_S.INCOMING_RINGING, _E.CANCELLED_RECEIVED): _S.ENDED,
    (_S.INCOMING_RINGING, _E.DECLINED_RECEIVED): _S.ENDED,  # declined on another device of the callee
    (_S.INCOMING_RINGING, _E.TIMED_OUT_RECEIVED): _S.ENDED,
    (_S.INCOMING_RINGING, _E.ANSWERED_ELSEWHERE_RECEIVED): _S.ENDED,
    # both sides, once accepted
    (_S.CONNECTING, _E.MEDIA_UP): _S.ACTIVE,
    (_S.CONNECTING, _E.CONNECTED_RECEIVED): _S.CONNECTING,
    (_S.CONNECTING, _E.CANDIDATES_RECEIVED): _S.CONNECTING,
    (_S.CONNECTING, _E.WELCOME_RECEIVED): _S.CONNECTING,
    (_S.CONNECTING, _E.MEDIA_KEY_RECEIVED): _S.CONNECTING,
    (_S.CONNECTING, _E.HANG_UP): _S.ENDED,
    (_S.CONNECTING, _E.CONNECT_TIMEOUT): _S.ENDED,
    (_S.CONNECTING, _E.MEDIA_FAILED): _S.ENDED,
    (_S.CONNECTING, _E.HUNG_UP_RECEIVED): _S.ENDED,
    (_S.CONNECTING, _E.FAILED_RECEIVED): _S.ENDED,
    (_S.CONNECTING, _E.TIMED_OUT_RECEIVED): _S.ENDED,
    (_S.ACTIVE, _E.CONNECTED_RECEIVED): _S.ACTIVE,
    (_S.ACTIVE, _E.CANDIDATES_RECEIVED): _S.ACTIVE,  # a side that went straight to the relay
    (_S.ACTIVE, _E.HANG_UP): _S.ENDED,
    (_S.ACTIVE, _E.MEDIA_FAILED): _S.ENDED,
    (_S.ACTIVE, _E.HUNG_UP_RECEIVED): _S.ENDED,
    (_S.ACTIVE, _E.FAILED_RECEIVED): _S.ENDED,
}
"""Every allowed move. A move into ENDED ends the call with the event's ``ends_with``; every
other event leaves ``end_reason`` unset. What is not here is refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One move the machine made."""

    event: CallEvent
    before: CallState
    after: CallState


class CallStateMachine:
    """The state of one call; :meth:`apply` is the only way to change it."""

    __slots__ = ("_end_reason", "_state")

    def __init__(self) -> None:
        self._state = CallState.IDLE
        self._end_reason: EndReason | None = None

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def end_reason(self) -> EndReason | None:
        """Why the call ended (None until it has)."""
        return self._end_reason

    def allows(self, event: CallEvent) -> bool:
        return (self._state, event) in CALL_TRANSITIONS

    def apply(self, event: CallEvent) -> Transition:
        """Move on ``event``, or raise without changing anything if the table does not allow it."""
        after = CALL_TRANSITIONS.get((self._state, event))
        if after is None:
            detail = f"{event.label} in state {self._state.value}"
            if self._state is CallState.ENDED and self._end_reason is not None:
                detail += f" ({self._end_reason.value})"
            if event.origin is EventOrigin.LOCAL:
                raise CallStateError(f"not allowed: {detail}")
            raise UnexpectedCallMessage("call message not allowed in the call's state", detail)
        before = self._state
        self._state = after
        if after is CallState.ENDED:
            self._end_reason = event.ends_with
        return Transition(event=event, before=before, after=after)

    def __repr__(self) -> str:
        suffix = f" ({self._end_reason.value})" if self._end_reason else ""
        return f"CallStateMachine({self._state.value}{suffix})"
