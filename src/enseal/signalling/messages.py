"""The signalling messages of a 1:1 call (frozen, keyword-only; JSON in
:mod:`enseal.signalling.message_codec`).

Flow (docs/media-path.md)::

    caller device            server                      callee devices
    call.invite      ---->   policy, busy   ---- call.invite (+ encryption) ---->  ring
                     <----   call.ringing (encryption)
                     <---------------------------------- call.accept (one device)
                             call.end answered_elsewhere ---> the other devices
    E2EE:     call.welcome  --------------------------------> answering device
    standard: <---- call.media_key ---->  (the key the service knows)
    call.candidates  <---------------------------------->  call.candidates
    call.connected   <---------------------------------->  call.connected   (media up)
    call.end (declined, cancelled, busy, hung_up, ...) either way

Who is sending is not in the messages: the server knows the authenticated device of every
message it receives and stamps it on what it forwards. The server decides the encryption of
the call (``enseal.policy.decide_call``) and stamps it on the invite it forwards and on
``call.ringing``; a device never sets it. Candidates are sent only after the call is accepted,
so a caller's addresses do not reach devices that only rang.
"""

from __future__ import annotations

import base64
import enum
import re
from dataclasses import dataclass, field
from typing import Final

from enseal.crypto import RandomSource
from enseal.errors import LocalProtocolError
from enseal.signalling.call_state import EndReason
from enseal.signalling.candidates import MAX_CANDIDATES, Candidate
from enseal.signalling.connectivity_check import CALL_SECRET_SIZE

SIGNALLING_VERSION: Final = 1

CALL_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{22,64}$"
"""A call id: 22-64 URL-safe base64 characters (:func:`new_call_id` makes 22: 128 random bits)."""

USER_ADDRESS_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
"""``user@tenant`` as :mod:`enseal.wire.identifiers` defines it."""

CODEC_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,15}$"
MAX_CODECS: Final = 8
"""Most codec names of one kind a media offer lists."""

MAX_KEY_PACKAGE_SIZE: Final = 16 * 1024
MAX_WELCOME_SIZE: Final = 64 * 1024
"""Bounds of the opaque MLS bytes carried for an end-to-end encrypted call."""

MEDIA_KEY_SIZES: Final = (16, 32)
"""A standard-encryption media key is an SFrame base key: AES-128 (16) or AES-256 (32) suites."""

AUDIO_CODECS: Final = ("opus",)
VIDEO_CODECS: Final = ("vp8",)
"""The codecs this implementation sends and receives."""

_CALL_ID = re.compile(CALL_ID_PATTERN)
_USER_ADDRESS = re.compile(USER_ADDRESS_PATTERN)
_CODEC_NAME = re.compile(CODEC_NAME_PATTERN)


def check_call_id(call_id: str) -> None:
    if not isinstance(call_id, str) or _CALL_ID.fullmatch(call_id) is None:
        raise LocalProtocolError(f"call id must match {CALL_ID_PATTERN}")


def new_call_id(rng: RandomSource) -> str:
    """A fresh call id: 128 random bits, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(rng(16)).rstrip(b"=").decode("ascii")


class CallEncryption(enum.Enum):
    """The label both sides show: decided by the server from policy, capability and opt-in."""

    END_TO_END = "end_to_end"
    """Keys come from the call's MLS group; the service cannot read the media."""
    STANDARD = "standard"
    """The service holds the media key (``call.media_key``); it can record and transcribe."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaOffer:
    """The codecs a device can send and receive, most preferred first; an empty tuple means the
    device does not take part in that kind of media (an audio-only call has no video codecs)."""

    audio_codecs: tuple[str, ...] = AUDIO_CODECS
    video_codecs: tuple[str, ...] = VIDEO_CODECS

    def __post_init__(self) -> None:
        for kind, codecs in (("audio", self.audio_codecs), ("video", self.video_codecs)):
            if len(codecs) > MAX_CODECS:
                raise LocalProtocolError(f"at most {MAX_CODECS} {kind} codecs, got {len(codecs)}")
            if len(set(codecs)) != len(codecs):
                raise LocalProtocolError(f"{kind} codecs repeat a name")
            for codec in codecs:
                if not isinstance(codec, str) or _CODEC_NAME.fullmatch(codec) is None:
                    raise LocalProtocolError(f"codec name must match {CODEC_NAME_PATTERN}")

    def common(self, other: MediaOffer) -> MediaOffer:
        """The codecs both offer and this implementation supports, in this offer's order."""
        return MediaOffer(
            audio_codecs=tuple(c for c in self.audio_codecs if c in other.audio_codecs and c in AUDIO_CODECS),
            video_codecs=tuple(c for c in self.video_codecs if c in other.video_codecs and c in VIDEO_CODECS),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CallInvite:
    """``call.invite``: the caller asks for a call with the user ``callee``.

    ``call_secret`` keys the call's connectivity checks
    (:meth:`~enseal.signalling.connectivity_check.ConnectivityKey.derive`). ``e2ee_capable``
    says the calling device supports E2EE and its user opted in. ``encryption`` is None from the
    caller and set by the server on the invite it forwards.
    """

    call_id: str
    callee: str
    media: MediaOffer
    e2ee_capable: bool
    call_secret: bytes = field(repr=False)
    encryption: CallEncryption | None = None

    def __post_init__(self) -> None:
        check_call_id(self.call_id)
        if _USER_ADDRESS.fullmatch(self.callee) is None:
            raise LocalProtocolError("callee must be a user address user@tenant")
        if len(self.call_secret) != CALL_SECRET_SIZE:
            raise LocalProtocolError(f"call secret must be {CALL_SECRET_SIZE} bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRinging:
    """``call.ringing`` (server to caller): the callee's devices ring; the call's encryption."""

    call_id: str
    encryption: CallEncryption

    def __post_init__(self) -> None:
        check_call_id(self.call_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAccept:
    """``call.accept``: one callee device answers. For an end-to-end encrypted call it carries
    that device's MLS KeyPackage (the caller adds it to the call's group and answers with
    ``call.welcome``); for a standard call ``key_package`` is None."""

    call_id: str
    media: MediaOffer
    key_package: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_call_id(self.call_id)
        if self.key_package is not None and not 0 < len(self.key_package) <= MAX_KEY_PACKAGE_SIZE:
            raise LocalProtocolError(f"key package must be 1 to {MAX_KEY_PACKAGE_SIZE} bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallWelcome:
    """``call.welcome`` (caller to the answering device, E2EE only): the MLS Welcome of the
    call's group, opaque here."""

    call_id: str
    welcome: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_call_id(self.call_id)
        if not 0 < len(self.welcome) <= MAX_WELCOME_SIZE:
            raise LocalProtocolError(f"welcome must be 1 to {MAX_WELCOME_SIZE} bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMediaKey:
    """``call.media_key`` (server to both devices, standard encryption only): the SFrame base
    key of the call, known to the service."""

    call_id: str
    media_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_call_id(self.call_id)
        if len(self.media_key) not in MEDIA_KEY_SIZES:
            raise LocalProtocolError(f"media key must be one of {MEDIA_KEY_SIZES} bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallCandidates:
    """``call.candidates``: where the sender receives direct media (empty: relay only)."""

    call_id: str
    candidates: tuple[Candidate, ...]

    def __post_init__(self) -> None:
        check_call_id(self.call_id)
        if len(self.candidates) > MAX_CANDIDATES:
            raise LocalProtocolError(f"at most {MAX_CANDIDATES} candidates, got {len(self.candidates)}")
        if len({c.endpoint for c in self.candidates}) != len(self.candidates):
            raise LocalProtocolError("candidates repeat an endpoint")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallConnected:
    """``call.connected``: the sender's media path is up (the call is active on its side)."""

    call_id: str

    def __post_init__(self) -> None:
        check_call_id(self.call_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnd:
    """``call.end``: the call is over for the sender (or, from the server, for the receiver)."""

    call_id: str
    reason: EndReason

    def __post_init__(self) -> None:
        check_call_id(self.call_id)


CallMessage = (
    CallInvite | CallRinging | CallAccept | CallWelcome | CallMediaKey | CallCandidates | CallConnected | CallEnd
)

SERVER_ONLY_MESSAGES: Final = (CallRinging, CallMediaKey)
"""Message types only the server sends; the server refuses them from a device."""

SERVER_ONLY_END_REASONS: Final = frozenset({EndReason.REFUSED_BY_POLICY, EndReason.ANSWERED_ELSEWHERE})
"""End reasons only the server gives."""
