"""One device's side of a 1:1 call: the state machine of :mod:`enseal.signalling.call_state`,
what the two sides agreed, and the ring and connect timers. Sans-I/O: commands return the
message to send; :meth:`Call.receive` takes the messages that arrive; time is passed in.

What a :class:`Call` enforces beyond the transition table:

* the encryption label comes from the server (on the forwarded invite or on ``call.ringing``)
  and may not change; an END_TO_END label for a device that did not offer E2EE is refused;
* an end-to-end encrypted call never takes a media key from the service: a ``call.media_key``
  for it is refused (it would be a downgrade); a standard call takes exactly one;
* an accept of an E2EE call carries the answering device's KeyPackage, one of a standard call
  carries none; only the caller sends ``call.welcome``, only in an E2EE call;
* candidates and the welcome arrive at most once.

Every refusal raises before anything changes.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from enseal.crypto import RandomSource, Secret
from enseal.errors import InternalError, LocalProtocolError
from enseal.signalling.call_state import (
    CONNECT_TIMEOUT_SECONDS,
    REMOTE_END_EVENTS,
    RING_TIMEOUT_SECONDS,
    CallEvent,
    CallState,
    CallStateMachine,
    EndReason,
)
from enseal.signalling.candidates import Candidate
from enseal.signalling.connectivity import CheckRole
from enseal.signalling.connectivity_check import CALL_SECRET_SIZE, ConnectivityKey
from enseal.signalling.errors import CallStateError, UnexpectedCallMessage
from enseal.signalling.messages import (
    CallAccept,
    CallCandidates,
    CallConnected,
    CallEncryption,
    CallEnd,
    CallInvite,
    CallMediaKey,
    CallMessage,
    CallRinging,
    CallWelcome,
    MediaOffer,
    check_call_id,
    new_call_id,
)


class CallRole(enum.Enum):
    CALLER = "caller"
    CALLEE = "callee"

    @property
    def check_role(self) -> CheckRole:
        """The caller controls the connectivity checks (RFC 8445: the initiating agent)."""
        return CheckRole.CONTROLLING if self is CallRole.CALLER else CheckRole.CONTROLLED


class Call:
    """One call as this device sees it. Create with :meth:`place` or :meth:`incoming`."""

    __slots__ = (
        "_accept",
        "_connectivity_key",
        "_deadline",
        "_e2ee_capable",
        "_encryption",
        "_machine",
        "_media",
        "_media_key",
        "_peer_media",
        "_remote_candidates",
        "_welcome",
        "call_id",
        "role",
    )

    def __init__(
        self,
        *,
        role: CallRole,
        call_id: str,
        call_secret: bytes,
        media: MediaOffer,
        e2ee_capable: bool,
    ) -> None:
        check_call_id(call_id)
        if len(call_secret) != CALL_SECRET_SIZE:
            raise LocalProtocolError(f"call secret must be {CALL_SECRET_SIZE} bytes")
        self.role = role
        self.call_id = call_id
        self._connectivity_key = ConnectivityKey.derive(call_secret, call_id)
        self._media = media
        self._e2ee_capable = e2ee_capable
        self._machine = CallStateMachine()
        self._deadline: float | None = None
        self._encryption: CallEncryption | None = None
        self._peer_media: MediaOffer | None = None
        self._accept: CallAccept | None = None
        self._welcome: bytes | None = None
        self._media_key: Secret | None = None
        self._remote_candidates: tuple[Candidate, ...] | None = None

    @classmethod
    def place(
        cls, *, callee: str, media: MediaOffer, e2ee_capable: bool, now: float, rng: RandomSource
    ) -> tuple[Call, CallInvite]:
        """A new outgoing call to the user ``callee`` and the invite to send for it."""
        call_id = new_call_id(rng)
        secret = rng(CALL_SECRET_SIZE)
        invite = CallInvite(call_id=call_id, callee=callee, media=media, e2ee_capable=e2ee_capable, call_secret=secret)
        call = cls(role=CallRole.CALLER, call_id=call_id, call_secret=secret, media=media, e2ee_capable=e2ee_capable)
        call._apply(CallEvent.PLACE, now)
        return call, invite

    @classmethod
    def incoming(cls, invite: CallInvite, *, media: MediaOffer, e2ee_capable: bool, now: float) -> Call:
        """A call for the invite the server forwarded; this device now rings."""
        if invite.encryption is None:
            raise UnexpectedCallMessage("a forwarded invite carries the call's encryption, set by the server")
        if invite.encryption is CallEncryption.END_TO_END and not (invite.e2ee_capable and e2ee_capable):
            raise UnexpectedCallMessage("invite labelled end-to-end encrypted, but a side did not offer E2EE")
        call = cls(
            role=CallRole.CALLEE,
            call_id=invite.call_id,
            call_secret=invite.call_secret,
            media=media,
            e2ee_capable=e2ee_capable,
        )
        call._encryption = invite.encryption
        call._peer_media = invite.media
        call._apply(CallEvent.INVITE_RECEIVED, now)
        return call

    # -- what is known --------------------------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self._machine.state

    @property
    def end_reason(self) -> EndReason | None:
        return self._machine.end_reason

    @property
    def encryption(self) -> CallEncryption | None:
        """The label to show (None until the server has decided it)."""
        return self._encryption

    @property
    def connectivity_key(self) -> ConnectivityKey:
        return self._connectivity_key

    @property
    def common_media(self) -> MediaOffer | None:
        """The codecs both sides offered (None before the call is accepted)."""
        if self._peer_media is None or self.state is CallState.IDLE or self.state.ringing:
            return None
        return self._media.common(self._peer_media)

    @property
    def key_package(self) -> bytes | None:
        """The answering device's KeyPackage (caller, E2EE call, once accepted)."""
        return None if self._accept is None else self._accept.key_package

    @property
    def welcome(self) -> bytes | None:
        """The MLS Welcome of the call's group (callee, E2EE call, once received)."""
        return self._welcome

    @property
    def media_key(self) -> Secret | None:
        """The service's media key (standard call, once received)."""
        return self._media_key

    @property
    def remote_candidates(self) -> tuple[Candidate, ...] | None:
        return self._remote_candidates

    def next_deadline(self) -> float | None:
        """When :meth:`poll` would end the call (ring or connect timeout)."""
        return self._deadline

    # -- transitions ---------------------------------------------------------------------------

    def _apply(self, event: CallEvent, now: float) -> None:
        transition = self._machine.apply(event)
        if transition.after is transition.before:
            return
        if transition.after.ringing:
            self._deadline = now + RING_TIMEOUT_SECONDS
        elif transition.after is CallState.CONNECTING:
            self._deadline = now + CONNECT_TIMEOUT_SECONDS
        else:
            self._deadline = None

    def _end(self, event: CallEvent) -> CallEnd:
        if event.ends_with is None:
            raise InternalError(f"{event.label} does not end a call")
        self._machine.apply(event)
        self._deadline = None
        return CallEnd(call_id=self.call_id, reason=event.ends_with)

    # -- local commands --------------------------------------------------------------------------

    def accept(self, *, now: float, key_package: bytes | None = None) -> CallAccept:
        """Answer the ringing call. An E2EE call needs this device's MLS KeyPackage."""
        if self._encryption is CallEncryption.END_TO_END and key_package is None:
            raise LocalProtocolError("accepting an end-to-end encrypted call needs this device's KeyPackage")
        if self._encryption is CallEncryption.STANDARD and key_package is not None:
            raise LocalProtocolError("a standard-encryption call is accepted without a KeyPackage")
        accept = CallAccept(call_id=self.call_id, media=self._media, key_package=key_package)
        self._apply(CallEvent.ACCEPT, now)
        return accept

    def decline(self) -> CallEnd:
        return self._end(CallEvent.DECLINE)

    def reply_busy(self) -> CallEnd:
        """End a ringing call because this device (or user) is in another call."""
        return self._end(CallEvent.REPLY_BUSY)

    def cancel(self) -> CallEnd:
        return self._end(CallEvent.CANCEL)

    def hang_up(self) -> CallEnd:
        return self._end(CallEvent.HANG_UP)

    def media_failed(self) -> CallEnd:
        return self._end(CallEvent.MEDIA_FAILED)

    def media_up(self, now: float) -> CallConnected:
        """The media path is up: the call is active on this side."""
        self._apply(CallEvent.MEDIA_UP, now)
        return CallConnected(call_id=self.call_id)

    def candidates(self, candidates: Sequence[Candidate]) -> CallCandidates:
        """The message offering this device's candidates (empty: relay only)."""
        if self.state is not CallState.CONNECTING:
            raise CallStateError(f"candidates are sent while connecting, not in state {self.state.value}")
        return CallCandidates(call_id=self.call_id, candidates=tuple(candidates))

    def welcome_message(self, welcome: bytes) -> CallWelcome:
        """The message handing the answering device the Welcome to the call's MLS group."""
        if self.role is not CallRole.CALLER or self._encryption is not CallEncryption.END_TO_END:
            raise CallStateError("only the caller of an end-to-end encrypted call sends a Welcome")
        if self.state is not CallState.CONNECTING:
            raise CallStateError(f"the Welcome is sent while connecting, not in state {self.state.value}")
        return CallWelcome(call_id=self.call_id, welcome=welcome)

    def poll(self, now: float) -> CallEnd | None:
        """Apply the ring or connect timeout if it is due; returns the message to send, if any
        (a callee device that stops ringing tells nobody: the server runs its own timer)."""
        if self._deadline is None or now < self._deadline:
            return None
        if self.state.ringing:
            self._apply(CallEvent.RING_TIMEOUT, now)
            return CallEnd(call_id=self.call_id, reason=EndReason.TIMED_OUT) if self.role is CallRole.CALLER else None
        return self._end(CallEvent.CONNECT_TIMEOUT)

    # -- messages -----------------------------------------------------------------------------

    def receive(self, message: CallMessage, now: float) -> None:
        """Take a message for this call from the peer or the server."""
        if message.call_id != self.call_id:
            raise UnexpectedCallMessage("message for another call", message.call_id)
        match message:
            case CallInvite():
                self._apply(CallEvent.INVITE_RECEIVED, now)  # never allowed once a call exists
            case CallRinging():
                self._check_label(message.encryption)
                self._apply(CallEvent.RINGING_RECEIVED, now)
                self._encryption = message.encryption
            case CallAccept():
                self._receive_accept(message, now)
            case CallWelcome():
                if self.role is not CallRole.CALLEE or self._encryption is not CallEncryption.END_TO_END:
                    raise UnexpectedCallMessage("a Welcome is only for the callee of an end-to-end encrypted call")
                if self._welcome is not None:
                    raise UnexpectedCallMessage("second Welcome for the call")
                self._apply(CallEvent.WELCOME_RECEIVED, now)
                self._welcome = message.welcome
            case CallMediaKey():
                if self._encryption is not CallEncryption.STANDARD:
                    raise UnexpectedCallMessage(
                        "media key from the service for a call that is not standard-encrypted: refused"
                    )
                if self._media_key is not None:
                    raise UnexpectedCallMessage("second media key for the call")
                self._apply(CallEvent.MEDIA_KEY_RECEIVED, now)
                self._media_key = Secret(message.media_key)
            case CallCandidates():
                if self._remote_candidates is not None:
                    raise UnexpectedCallMessage("second candidate list for the call")
                self._apply(CallEvent.CANDIDATES_RECEIVED, now)
                self._remote_candidates = message.candidates
            case CallConnected():
                self._apply(CallEvent.CONNECTED_RECEIVED, now)
            case CallEnd():
                self._apply(REMOTE_END_EVENTS[message.reason], now)

    def _check_label(self, encryption: CallEncryption) -> None:
        if self._encryption is not None and encryption is not self._encryption:
            raise UnexpectedCallMessage(
                "the call's encryption label may not change", f"{self._encryption.value} -> {encryption.value}"
            )
        if encryption is CallEncryption.END_TO_END and not self._e2ee_capable:
            raise UnexpectedCallMessage("call labelled end-to-end encrypted, but this device did not offer E2EE")

    def _receive_accept(self, accept: CallAccept, now: float) -> None:
        if self.role is CallRole.CALLER and self._encryption is None:
            raise UnexpectedCallMessage("accept before the server said the call's encryption (call.ringing)")
        if self._encryption is CallEncryption.END_TO_END and accept.key_package is None:
            raise UnexpectedCallMessage("accept of an end-to-end encrypted call without a KeyPackage")
        if self._encryption is CallEncryption.STANDARD and accept.key_package is not None:
            raise UnexpectedCallMessage("accept of a standard-encryption call with a KeyPackage")
        self._apply(CallEvent.ACCEPT_RECEIVED, now)
        self._accept = accept
        self._peer_media = accept.media

    def __repr__(self) -> str:
        label = self._encryption.value if self._encryption else "undecided"
        return f"Call({self.role.value}, {self.call_id}, {self._machine!r}, {label})"
