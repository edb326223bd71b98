"""One 1:1 call on this device, in asyncio: signalling (:class:`enseal.signalling.Call`), the
call's keys (:mod:`~enseal.client.call_group` for E2EE, the service's media key otherwise), the
media path (:func:`enseal.client.media.connect_media`) and real media
(:class:`enseal.client.media.MediaSession`). docs/client.md, "Calls".

:func:`place_call` rings a user and runs the call for a number of seconds; :func:`answer_call`
answers an invite and runs the call until the other side hangs up. Both report what happens
through ``progress`` (the label and its reasons, the security code, the media path) and return
a :class:`CallOutcome`.

Rules this module adds to the state machine's:

* the label is the server's; an end-to-end encrypted call takes keys only from its MLS group,
  and the security code is shown only once the group's members were checked;
* a standard-encryption call says so (with the policy's reasons) before any media flows;
* features that need the service to see media are refused locally under E2EE
  (:func:`check_feature`): the client never hands call keys to a service participant.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from enseal.client.call_group import CallGroup
from enseal.client.call_signalling import CallSignalling, SignalEnvelope
from enseal.client.device import DeviceIdentity
from enseal.client.device_directory import DeviceDirectory, FirstSight
from enseal.client.errors import CallRefused, PolicyReason
from enseal.client.media import (
    FrameCrypto,
    MediaPathError,
    MediaSession,
    MediaStats,
    PathKind,
    RelayConnector,
    SFrameCrypto,
    TransportClosed,
    connect_media,
)
from enseal.crypto import RandomSource
from enseal.errors import EnsealError
from enseal.media import (
    AudioFileSink,
    AudioFileSource,
    GeneratedVideoSource,
    PcmFrame,
    VideoFileSink,
    VideoFileSource,
    VideoPicture,
)
from enseal.mls.framing import MLSMessage
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.wire import serialize
from enseal.signalling import (
    Call,
    CallAccept,
    CallEncryption,
    CallEnd,
    CallInvite,
    CallMessage,
    CallRinging,
    CallRole,
    CallState,
    CallStateError,
    Candidate,
    EndReason,
    MediaOffer,
    UnexpectedCallMessage,
)
from enseal.verification import SecurityCode

MAX_CALL_SECONDS: Final = 3_600.0
"""Longest call this client runs (the generated video source is bounded by it)."""
MEDIA_LINGER_SECONDS: Final = 0.4
"""After the last frame was sent, how long to wait for datagrams in flight before stopping."""

E2EE_ONLY_OFF_FEATURES: Final = frozenset(
    {
        "recording",
        "live_captions",
        "transcription",
        "call_transfer",
        "call_park",
        "call_merge",
        "add_participant_to_call",
        "forward_to_voicemail",
    }
)
"""Features of a 1:1 call that need the service to see media: off under E2EE (ARCHITECTURE.md
section 1)."""


# -- what the caller of this module sees ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Ringing:
    peer: str
    encryption: CallEncryption
    reasons: tuple[PolicyReason, ...]
    incoming: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Answered:
    peer_device: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityCodeReady:
    code: SecurityCode
    qr_payload: bytes = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaConnected:
    call_id: str
    path: PathKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Ended:
    reason: EndReason
    by_peer: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderNotice:
    """The service's recorder joined (``present``) or left the call: everyone sees it. Media moves
    to the relay while it is there (the recorder only sees the relay path)."""

    present: bool


CallProgress = Ringing | Answered | SecurityCodeReady | MediaConnected | RecorderNotice | Ended
Progress = Callable[[CallProgress], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOutcome:
    call_id: str
    peer: str
    encryption: CallEncryption | None
    reasons: tuple[PolicyReason, ...]
    security_code: SecurityCode | None
    path: PathKind | None
    stats: MediaStats | None
    end_reason: EndReason | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMedia:
    """What this device sends and where it writes what it receives."""

    audio_file: Path | None = None
    """Audio to send (any file PyAV reads); None sends no audio."""
    video_file: Path | None = None
    """Video to send; None sends the generated moving test pattern."""
    send_video: bool = True
    record_audio: Path | None = None
    record_video: Path | None = None
    direct: bool = True
    """Offer direct (peer-to-peer) candidates; False forces the relay."""
    host_addresses: Sequence[str] | None = None
    plaintext_tap: Callable[[bytes], None] | None = None
    """Sees every encoded frame before it is protected (the demo and tests use it to prove that
    none of them reaches the server in clear)."""


class _TappedCrypto:
    """A :class:`FrameCrypto` that shows each plaintext frame to a tap, then protects it."""

    def __init__(self, inner: FrameCrypto, tap: Callable[[bytes], None]) -> None:
        self._inner = inner
        self._tap = tap

    @property
    def encryption(self) -> CallEncryption:
        return self._inner.encryption

    def protect(self, payload: bytes, metadata: bytes) -> bytes:
        self._tap(payload)
        return self._inner.protect(payload, metadata)

    def unprotect(self, data: bytes, metadata: bytes) -> bytes:
        return self._inner.unprotect(data, metadata)


@dataclass(slots=True, kw_only=True)
class CallEnvironment:
    """What a call needs from the device's session."""

    identity: DeviceIdentity
    directory: DeviceDirectory
    signalling: CallSignalling
    rng: RandomSource
    relay: Callable[[str], RelayConnector | None]
    """The relay connector of a call id (None: no relay)."""
    e2ee_capable: Callable[[], Awaitable[bool]]
    """Whether this device may offer E2EE now (device support and the user's opt-in)."""
    busy: Callable[[], bool] = lambda: False


def check_feature(feature: str, encryption: CallEncryption | None) -> None:
    """Refuse a feature that needs the service to see media in an E2EE call."""
    if encryption is CallEncryption.END_TO_END and feature in E2EE_ONLY_OFF_FEATURES:
        raise CallRefused(
            f"{feature.replace('_', ' ')} is not available in an end-to-end encrypted call",
            "the service cannot see the media, and this device does not hand the call's keys to a service participant",
        )


class _CallEnded(Exception):
    """Internal: the call ended while waiting for something."""


# -- the driver -------------------------------------------------------------------------------------


class CallDriver:
    """Feeds one call's signalling into its :class:`Call` and waits for what the flow needs."""

    def __init__(self, env: CallEnvironment, call: Call, *, peer: str) -> None:
        self.env = env
        self.call = call
        self.peer = peer
        self.loop = asyncio.get_running_loop()
        self.queue = env.signalling.open(call.call_id)
        self.reasons: tuple[PolicyReason, ...] = ()
        self.accept_from: str | None = None
        self.unexpected = 0
        self._changed = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self._ended_by_peer = False

    def now(self) -> float:
        return self.loop.time()

    def start(self, progress: Progress) -> None:
        self._progress = progress
        self._pump_task = asyncio.create_task(self._pump())

    async def stop(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
        self.env.signalling.close(self.call.call_id)

    async def _pump(self) -> None:
        while True:
            envelope = await self.queue.get()
            self._take(envelope)
            self._changed.set()

    def _take(self, envelope: SignalEnvelope) -> None:
        message = envelope.message
        if (
            isinstance(message, CallAccept)
            and self.call.role is CallRole.CALLER
            and envelope.sender_user
            not in (
                None,
                self.peer,
            )
        ):
            self.unexpected += 1  # only the callee's devices may answer
            return
        try:
            self.call.receive(message, self.now())
        except (UnexpectedCallMessage, CallStateError):
            self.unexpected += 1
            return
        if envelope.reasons:
            self.reasons = envelope.reasons
        match message:
            case CallRinging():
                self._progress(
                    Ringing(peer=self.peer, encryption=message.encryption, reasons=self.reasons, incoming=False)
                )
            case CallAccept():
                self.accept_from = envelope.sender_device
                self._progress(Answered(peer_device=envelope.sender_device))
            case CallEnd():
                self._ended_by_peer = True
                self._progress(Ended(reason=message.reason, by_peer=True))

    async def until(self, ready: Callable[[], bool], what: str) -> None:
        """Wait until ``ready()``; raises :class:`_CallEnded` if the call ends first (a due ring
        or connect timeout ends it here, telling the peer when the state machine says so)."""
        while not ready():
            if self.call.state is CallState.ENDED:
                raise _CallEnded(what)
            deadline = self.call.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.now())
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                end = self.call.poll(self.now())
                if end is not None:
                    await self.send(end)
                if self.ended and self.call.end_reason is not None:
                    self._progress(Ended(reason=self.call.end_reason, by_peer=False))

    async def send(self, message: CallMessage) -> None:
        await self.env.signalling.send(message)

    async def end(self, message: CallEnd) -> None:
        await self.send(message)
        self._progress(Ended(reason=message.reason, by_peer=False))

    # candidate exchange for connect_media
    async def send_candidates(self, candidates: tuple[Candidate, ...]) -> None:
        await self.send(self.call.candidates(candidates))

    async def receive_candidates(self) -> tuple[Candidate, ...]:
        await self.until(lambda: self.call.remote_candidates is not None, "candidates")
        assert self.call.remote_candidates is not None
        return self.call.remote_candidates

    @property
    def ended(self) -> bool:
        return self.call.state is CallState.ENDED

    async def wait_ended(self) -> None:
        with contextlib.suppress(_CallEnded):
            await self.until(lambda: False, "the end of the call")


class _Exchange:
    """:class:`enseal.client.media.CandidateExchange` over the call's signalling."""

    def __init__(self, driver: CallDriver) -> None:
        self._driver = driver

    async def send(self, candidates: tuple[Candidate, ...]) -> None:
        await self._driver.send_candidates(candidates)

    async def receive(self) -> tuple[Candidate, ...]:
        return await self._driver.receive_candidates()


def _first_sight(env: CallEnvironment, peer: str, peer_device: str | None) -> FirstSight:
    """Devices a call may pin on first sight: this device, and the peer device the server named
    as the sender of the accept (caller) or the invite (callee) -- the server vouches for both."""
    own = (env.identity.address, env.identity.device_id)

    def allowed(user: str, device_id: str) -> bool:
        return (user, device_id) == own or (peer_device is not None and (user, device_id) == (peer, peer_device))

    return allowed


def _audio_source(media: CallMedia) -> Iterator[PcmFrame] | None:
    return AudioFileSource(media.audio_file) if media.audio_file is not None else None


def _video_source(media: CallMedia, seconds: float) -> Iterator[VideoPicture] | None:
    if not media.send_video:
        return None
    if media.video_file is not None:
        return VideoFileSource(media.video_file)
    return GeneratedVideoSource(min(seconds, MAX_CALL_SECONDS))


async def _run_media(
    driver: CallDriver, crypto: FrameCrypto, media: CallMedia, *, seconds: float | None, progress: Progress
) -> tuple[PathKind | None, MediaStats]:
    """Connect the media path, then send and receive until ``seconds`` passed or the call ended."""
    env, call = driver.env, driver.call
    connecting = asyncio.ensure_future(
        connect_media(
            role=call.role.check_role,
            key=call.connectivity_key,
            exchange=_Exchange(driver),
            relay=env.relay(call.call_id),
            direct=media.direct,
            host_addresses=media.host_addresses,
            rng=env.rng,
        )
    )
    ended = asyncio.ensure_future(driver.wait_ended())
    try:
        await asyncio.wait({connecting, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
    if not connecting.done():
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError, EnsealError):
            await connecting
        raise _CallEnded("the media path")
    try:
        transport = connecting.result()
    except EnsealError:
        if driver.ended:
            raise _CallEnded("the media path") from None
        raise
    audio_sink = AudioFileSink(media.record_audio) if media.record_audio is not None else None
    video_sink = VideoFileSink(media.record_video) if media.record_video is not None else None
    if media.plaintext_tap is not None:
        crypto = _TappedCrypto(crypto, media.plaintext_tap)
    session = MediaSession(
        transport=transport,
        crypto=crypto,
        audio_source=_audio_source(media),
        video_source=_video_source(media, seconds or MAX_CALL_SECONDS),
        audio_sink=audio_sink,
        video_sink=video_sink,
    )
    path = transport.path
    moves: set[asyncio.Task[None]] = set()

    def on_recorder(present: bool) -> None:
        progress(RecorderNotice(present=present))
        if present:
            move = asyncio.ensure_future(transport.move_to_relay())
            moves.add(move)
            move.add_done_callback(moves.discard)

    env.signalling.watch_recorder(call.call_id, on_recorder)
    try:
        if call.state is CallState.CONNECTING:
            await driver.send(call.media_up(driver.now()))
        progress(MediaConnected(call_id=call.call_id, path=path))
        await session.start()
        ended = asyncio.ensure_future(driver.wait_ended())
        try:
            # a caller stops after its seconds; a callee runs until the caller hangs up
            limit = asyncio.ensure_future(asyncio.sleep(seconds) if seconds is not None else asyncio.Event().wait())
            await asyncio.wait({ended, limit}, return_when=asyncio.FIRST_COMPLETED)
            limit.cancel()
        finally:
            ended.cancel()
        # The peer sent its last frame before it hung up: nothing is in flight once it has.
        linger = 0.0 if driver.ended else MEDIA_LINGER_SECONDS
        try:
            stats = await session.stop(linger=linger)
        except (MediaPathError, TransportClosed):
            if not driver.ended:
                raise
            stats = session.stats  # the server closed the relay because the call ended: expected
    finally:
        for move in list(moves):
            move.cancel()
            with contextlib.suppress(asyncio.CancelledError, EnsealError):
                await move
        for sink in (audio_sink, video_sink):
            if sink is not None:
                sink.close()
        await transport.close()
    return path, stats


# -- placing a call -------------------------------------------------------------------------------


async def place_call(
    env: CallEnvironment, callee: str, media: CallMedia, *, seconds: float, progress: Progress
) -> CallOutcome:
    """Ring ``callee``; once answered, run the call for ``seconds`` and hang up."""
    if not 0 < seconds <= MAX_CALL_SECONDS:
        raise CallRefused(f"a call lasts between 0 and {MAX_CALL_SECONDS:.0f} seconds")
    loop = asyncio.get_running_loop()
    e2ee = await env.e2ee_capable()
    call, invite = Call.place(callee=callee, media=MediaOffer(), e2ee_capable=e2ee, now=loop.time(), rng=env.rng)
    driver = CallDriver(env, call, peer=callee)
    driver.start(progress)
    group: CallGroup | None = None
    path: PathKind | None = None
    stats: MediaStats | None = None
    try:
        await driver.send(invite)
        try:
            await driver.until(lambda: call.state is CallState.CONNECTING, "an answer")
            if call.encryption is CallEncryption.END_TO_END:
                key_package = call.key_package
                assert key_package is not None
                identity = env.identity

                group, welcome = CallGroup.create(
                    call_id=call.call_id,
                    suite=identity.suite,
                    signer=identity.signing_key,
                    own_identity=identity.identity,
                    key_package=key_package,
                    peer_user=callee,
                    directory=env.directory,
                    first_sight=_first_sight(env, callee, driver.accept_from),
                    now=int(time.time()),
                    rng=env.rng,
                )
                await driver.send(call.welcome_message(welcome))
                progress(SecurityCodeReady(code=group.security_code, qr_payload=group.security_code_qr))
                crypto: FrameCrypto = SFrameCrypto.end_to_end(group.sframe_keys())
            else:
                await driver.until(lambda: call.media_key is not None, "the media key")
                assert call.media_key is not None
                crypto = SFrameCrypto.standard(call.media_key, role=CallRole.CALLER)
            path, stats = await _run_media(driver, crypto, media, seconds=seconds, progress=progress)
            if not driver.ended:
                await driver.end(call.hang_up())
        except _CallEnded:
            pass
        except EnsealError:
            if not driver.ended:
                with contextlib.suppress(EnsealError, CallStateError):
                    await driver.end(
                        call.media_failed() if call.state is not CallState.OUTGOING_RINGING else call.cancel()
                    )
            raise
        except asyncio.CancelledError:
            if not driver.ended:
                with contextlib.suppress(EnsealError, CallStateError):
                    await driver.send(call.cancel() if call.state is CallState.OUTGOING_RINGING else call.hang_up())
            raise
    finally:
        await driver.stop()
    return _outcome(call, driver, group, path, stats)


def _outcome(
    call: Call, driver: CallDriver, group: CallGroup | None, path: PathKind | None, stats: MediaStats | None
) -> CallOutcome:
    return CallOutcome(
        call_id=call.call_id,
        peer=driver.peer,
        encryption=call.encryption,
        reasons=driver.reasons,
        security_code=group.security_code if group is not None else None,
        path=path,
        stats=stats,
        end_reason=call.end_reason,
    )


# -- answering a call -------------------------------------------------------------------------------


async def answer_call(
    env: CallEnvironment,
    invite: SignalEnvelope,
    media: CallMedia,
    *,
    progress: Progress,
    accept: bool = True,
    seconds: float | None = None,
) -> CallOutcome:
    """Answer (or decline) a ringing call; run it until the caller hangs up (or ``seconds``)."""
    message = invite.message
    assert isinstance(message, CallInvite)
    caller = invite.sender_user or "unknown caller"
    loop = asyncio.get_running_loop()
    call = Call.incoming(message, media=MediaOffer(), e2ee_capable=await env.e2ee_capable(), now=loop.time())
    driver = CallDriver(env, call, peer=caller)
    driver.reasons = invite.reasons
    driver.start(progress)
    assert call.encryption is not None
    progress(Ringing(peer=caller, encryption=call.encryption, reasons=invite.reasons, incoming=True))
    group: CallGroup | None = None
    path: PathKind | None = None
    stats: MediaStats | None = None
    identity = env.identity
    try:
        try:
            if env.busy():
                await driver.end(call.reply_busy())
            elif not accept:
                await driver.end(call.decline())
            else:
                if call.encryption is CallEncryption.END_TO_END:
                    bundle = KeyPackageBundle.create(
                        identity.suite, identity.signing_key, identity.credential, rng=env.rng, now=int(time.time())
                    )
                    key_package = serialize(MLSMessage(body=bundle.key_package))
                    await driver.send(call.accept(now=driver.now(), key_package=key_package))
                    progress(Answered(peer_device=None))
                    await driver.until(lambda: call.welcome is not None, "the call's Welcome")
                    welcome = call.welcome
                    assert welcome is not None
                    group = CallGroup.join(
                        call_id=call.call_id,
                        welcome=welcome,
                        bundle=bundle,
                        own_identity=identity.identity,
                        peer_user=caller,
                        directory=env.directory,
                        first_sight=_first_sight(env, caller, invite.sender_device),
                        now=int(time.time()),
                    )
                    progress(SecurityCodeReady(code=group.security_code, qr_payload=group.security_code_qr))
                    crypto: FrameCrypto = SFrameCrypto.end_to_end(group.sframe_keys())
                else:
                    await driver.send(call.accept(now=driver.now()))
                    progress(Answered(peer_device=None))
                    await driver.until(lambda: call.media_key is not None, "the media key")
                    assert call.media_key is not None
                    crypto = SFrameCrypto.standard(call.media_key, role=CallRole.CALLEE)
                path, stats = await _run_media(driver, crypto, media, seconds=seconds, progress=progress)
                if not driver.ended:
                    await driver.end(call.hang_up())
        except _CallEnded:
            pass
        except EnsealError:
            if not driver.ended and call.state in (CallState.CONNECTING, CallState.ACTIVE):
                with contextlib.suppress(EnsealError, CallStateError):
                    await driver.end(call.media_failed())
            raise
    finally:
        await driver.stop()
    return _outcome(call, driver, group, path, stats)
