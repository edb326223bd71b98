"""SFrame keyed from MLS (RFC 9605 section 5.2): one base key per epoch, one KID per member.

::

    base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)
    KID      = (context << (S + E)) + (sender_index << E) + (epoch % (1 << E))

Every member derives every sender's key locally from the epoch's base key and the sender's KID, so
nothing but the MLS epoch is distributed. This module does not import :mod:`enseal.mls`: the client
passes the exporter output (or a callable exporter), the epoch number and its own leaf index, and
calls :meth:`MlsSFrameKeys.on_new_epoch` after each merged commit. Time is passed in as ``now``
(seconds on a monotonic clock).

Enseal's KID layout (docs/decisions/0300-sframe-mls-kid-layout.md): E = 4 epoch bits, S = 16 sender
bits (65,536 leaves; meetings of 1,000+ members), context ids 0-15 (one per independent outgoing
stream of a member). A member with leaf index below 4,096 and context 0 has a 1- or 2-byte KID.

Epoch changes (docs/decisions/0301-sframe-epoch-grace.md): sending switches to the new epoch at
once; the previous epoch's receive keys stay usable for :data:`PREVIOUS_EPOCH_GRACE_SECONDS` so
frames in flight still play, then they are deleted. At most 2^E epochs are held: "receivers MUST
remove an old epoch when a new epoch with the same low-order E bits is introduced".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, NoReturn

from enseal.crypto.secret import Secret
from enseal.errors import LocalProtocolError
from enseal.sframe.errors import ExpiredKeyIdError, UnknownKeyIdError
from enseal.sframe.receiver import MAX_RECEIVE_KEYS, SFrameReceiver
from enseal.sframe.replay import REPLAY_WINDOW
from enseal.sframe.sender import SFrameSender
from enseal.sframe.suites import DEFAULT_SFRAME_SUITE, SFrameCipherSuite
from enseal.types import UINT64_MAX, Epoch, LeafIndex

EXPORTER_LABEL: Final = b"SFrame 1.0 Base Key"
EXPORTER_CONTEXT: Final = b""

EPOCH_BITS: Final = 4
"""E: low-order epoch bits in the KID; at most 2^E epochs are held at once."""
SENDER_BITS: Final = 16
"""S: bits for the sender's leaf index (leaf indices 0-65,535)."""
MAX_CONTEXT_ID: Final = 15
"""Highest context id: a member may run 16 independent outgoing streams per epoch."""
PREVIOUS_EPOCH_GRACE_SECONDS: Final = 2.0
"""How long the previous epoch's receive keys stay usable after a new epoch is installed."""

MlsExporter = Callable[[bytes, bytes, int], bytes]
"""``MLS-Exporter(label, context, length)`` of the group's current epoch (RFC 9420 section 8.5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KidParts:
    """The fields of an MLS-scheme KID."""

    context_id: int
    leaf_index: LeafIndex
    epoch_bits: int


@dataclass(frozen=True, slots=True)
class KidLayout:
    """E, S and the context-id bound of the KID (RFC 9605 section 5.2)."""

    epoch_bits: int = EPOCH_BITS
    sender_bits: int = SENDER_BITS
    max_context_id: int = MAX_CONTEXT_ID

    def __post_init__(self) -> None:
        if self.epoch_bits < 1 or self.sender_bits < 1 or self.max_context_id < 0:
            raise LocalProtocolError("KID layout needs E >= 1, S >= 1 and a non-negative context bound")
        if self.epoch_bits + self.sender_bits + self.max_context_id.bit_length() > 64:
            raise LocalProtocolError("KID layout does not fit in 64 bits")

    @property
    def max_leaf_index(self) -> int:
        return (1 << self.sender_bits) - 1

    def kid(self, *, context_id: int, leaf_index: int, epoch: int) -> int:
        """``KID = (context << (S + E)) + (sender_index << E) + (epoch % (1 << E))``."""
        if not 0 <= context_id <= self.max_context_id:
            raise LocalProtocolError(f"context id {context_id} outside 0..{self.max_context_id}")
        if not 0 <= leaf_index <= self.max_leaf_index:
            raise LocalProtocolError(f"leaf index {leaf_index} does not fit in S = {self.sender_bits} bits")
        if not 0 <= epoch <= UINT64_MAX:
            raise LocalProtocolError(f"epoch {epoch} out of range")
        e, s = self.epoch_bits, self.sender_bits
        return (context_id << (s + e)) + (leaf_index << e) + (epoch % (1 << e))

    def split(self, kid: int) -> KidParts:
        e, s = self.epoch_bits, self.sender_bits
        return KidParts(
            context_id=kid >> (s + e),
            leaf_index=LeafIndex(kid >> e & ((1 << s) - 1)),
            epoch_bits=kid & ((1 << e) - 1),
        )


DEFAULT_KID_LAYOUT: Final = KidLayout()


@dataclass(frozen=True, slots=True, kw_only=True)
class MlsFrame:
    """A decrypted frame and who sent it, as its (authenticated) KID says.

    SFrame has no per-sender authentication (RFC 9605 section 7.2): any member holding the epoch's
    base key could have produced it.
    """

    sender: LeafIndex
    epoch: Epoch
    context_id: int
    counter: int
    plaintext: bytes = field(repr=False)


def exported_base_key(exporter: MlsExporter, suite: SFrameCipherSuite = DEFAULT_SFRAME_SUITE) -> bytes:
    """``MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)`` for ``suite``."""
    return exporter(EXPORTER_LABEL, EXPORTER_CONTEXT, suite.key_size)


class _EpochKeys:
    """What is kept of one epoch: its base key, our leaf in it, when it retires, who was revoked."""

    __slots__ = ("base_key", "epoch", "own_leaf", "retire_at", "revoked")

    def __init__(self, epoch: Epoch, base_key: Secret, own_leaf: LeafIndex) -> None:
        self.epoch = epoch
        self.base_key = base_key
        self.own_leaf = own_leaf
        self.retire_at = math.inf
        self.revoked: frozenset[LeafIndex] = frozenset()


class MlsSFrameKeys:
    """SFrame send and receive keys of one MLS group, across its epochs.

    Plug an MLS group in like this, ``export`` being the epoch's MLS-Exporter (for instance
    ``EpochSecrets.export`` of :mod:`enseal.mls.key_schedule`)::

        keys = MlsSFrameKeys.from_exporter(export, epoch=epoch, own_leaf_index=my_leaf)
        # after merging each commit:
        keys.on_new_epoch(base_key=exported_base_key(new_export, keys.suite), epoch=new_epoch,
                          now=monotonic(), removed_leaves=leaves_the_commit_removed)
        wire = keys.protect(encoded_frame)                      # outgoing media
        frame = keys.unprotect_frame(wire, now=monotonic())     # incoming: frame.sender, .plaintext
    """

    __slots__ = ("_current", "_epochs", "_expired", "_next_deadline", "_receiver", "_senders",
                 "grace_seconds", "layout", "suite")

    def __init__(
        self,
        *,
        base_key: bytes,
        epoch: int,
        own_leaf_index: int,
        suite: SFrameCipherSuite = DEFAULT_SFRAME_SUITE,
        layout: KidLayout = DEFAULT_KID_LAYOUT,
        grace_seconds: float = PREVIOUS_EPOCH_GRACE_SECONDS,
        replay_window: int = REPLAY_WINDOW,
        max_receive_keys: int = MAX_RECEIVE_KEYS,
    ) -> None:
        if not grace_seconds >= 0:
            raise LocalProtocolError(f"grace window must be >= 0 seconds, got {grace_seconds}")
        self.suite = suite
        self.layout = layout
        self.grace_seconds = grace_seconds
        self._receiver = SFrameReceiver(
            suite, replay_window=replay_window, max_keys=max_receive_keys, resolve=self._resolve
        )
        self._epochs: dict[int, _EpochKeys] = {}
        self._expired: dict[int, Epoch] = {}  # epoch bits -> epoch whose keys were deleted after its grace
        self._senders: dict[int, SFrameSender] = {}
        self._next_deadline = math.inf
        self._check_epoch(base_key, epoch, own_leaf_index)
        self._current = self._install(base_key, epoch, own_leaf_index)

    @classmethod
    def from_exporter(
        cls,
        exporter: MlsExporter,
        *,
        epoch: int,
        own_leaf_index: int,
        suite: SFrameCipherSuite = DEFAULT_SFRAME_SUITE,
        layout: KidLayout = DEFAULT_KID_LAYOUT,
        grace_seconds: float = PREVIOUS_EPOCH_GRACE_SECONDS,
    ) -> MlsSFrameKeys:
        """Keys for the epoch whose exporter is ``exporter``."""
        return cls(
            base_key=exported_base_key(exporter, suite), epoch=epoch, own_leaf_index=own_leaf_index,
            suite=suite, layout=layout, grace_seconds=grace_seconds,
        )

    # -- state ------------------------------------------------------------------------------------

    @property
    def epoch(self) -> Epoch:
        """The epoch frames are sent in."""
        return self._current.epoch

    @property
    def own_leaf_index(self) -> LeafIndex:
        return self._current.own_leaf

    @property
    def retained_epochs(self) -> tuple[Epoch, ...]:
        """Epochs whose receive keys are usable now (the current one and those in their grace window)."""
        return tuple(sorted(ep.epoch for ep in self._epochs.values()))

    def kid(self, context_id: int = 0) -> int:
        """This member's KID for ``context_id`` in the current epoch."""
        return self.layout.kid(context_id=context_id, leaf_index=self._current.own_leaf, epoch=self._current.epoch)

    def _check_epoch(self, base_key: bytes, epoch: int, own_leaf_index: int) -> None:
        if len(base_key) != self.suite.key_size:
            raise LocalProtocolError(
                f"base key must be MLS-Exporter(\"SFrame 1.0 Base Key\", \"\", {self.suite.key_size}) output, "
                f"got {len(base_key)} bytes"
            )
        self.layout.kid(context_id=0, leaf_index=own_leaf_index, epoch=epoch)  # validates leaf and epoch

    def _install(self, base_key: bytes, epoch: int, own_leaf_index: int) -> _EpochKeys:
        keys = _EpochKeys(Epoch(epoch), Secret(base_key), LeafIndex(own_leaf_index))
        bits = epoch % (1 << self.layout.epoch_bits)
        if bits in self._epochs:
            # "receivers MUST remove an old epoch when a new epoch with the same low-order E bits is
            # introduced"
            self._drop_epoch(bits, expired=False)
        self._epochs[bits] = keys
        self._expired.pop(bits, None)
        return keys

    def on_new_epoch(
        self,
        *,
        base_key: bytes,
        epoch: int,
        now: float,
        own_leaf_index: int | None = None,
        removed_leaves: Iterable[int] = (),
    ) -> None:
        """Install a newer epoch's base key and switch sending to it.

        The previous epoch's receive keys retire ``grace_seconds`` after ``now``. Frames of
        ``removed_leaves`` (members the commit removed) are refused in every older epoch at once.
        """
        if epoch <= self._current.epoch:
            raise LocalProtocolError(f"epoch {epoch} is not after the current epoch {self._current.epoch}")
        previous = self._current
        own_leaf = previous.own_leaf if own_leaf_index is None else own_leaf_index
        self._check_epoch(base_key, epoch, own_leaf)  # everything is checked before anything changes
        revoked = frozenset(LeafIndex(leaf) for leaf in removed_leaves)
        self.expire(now)
        previous.retire_at = now + self.grace_seconds
        self._current = self._install(base_key, epoch, own_leaf)
        self._senders.clear()  # the old epoch's send keys are never used again
        if revoked:
            for keys in self._epochs.values():
                if keys is not self._current:
                    keys.revoked |= revoked
            # The new epoch has no receive keys yet (a new member may already hold a removed leaf's index).
            self._remove_receive_keys(lambda kid: self.layout.split(kid).leaf_index in revoked)
        self._next_deadline = min(keys.retire_at for keys in self._epochs.values())

    def expire(self, now: float) -> None:
        """Delete the receive keys of every epoch whose grace window has passed at ``now``."""
        if now < self._next_deadline:
            return
        for bits, keys in list(self._epochs.items()):
            if keys.retire_at <= now:
                self._drop_epoch(bits, expired=True)
        self._next_deadline = min(keys.retire_at for keys in self._epochs.values())

    def _drop_epoch(self, bits: int, *, expired: bool) -> None:
        keys = self._epochs.pop(bits)
        if expired:
            self._expired[bits] = keys.epoch
        mask = (1 << self.layout.epoch_bits) - 1
        self._remove_receive_keys(lambda kid: kid & mask == bits)

    def _remove_receive_keys(self, condition: Callable[[int], bool]) -> None:
        for kid in self._receiver.kids:
            if condition(kid):
                self._receiver.remove_key(kid)

    def _resolve(self, kid: int) -> bytes | None:
        """The base key for a sender's KID seen for the first time (the receiver's KeyResolver)."""
        parts = self.layout.split(kid)
        keys = self._epochs.get(parts.epoch_bits)
        if keys is None:
            gone = self._expired.get(parts.epoch_bits)
            if gone is not None:
                raise ExpiredKeyIdError(kid, f"epoch {gone} keys deleted after the grace window")
            return None  # an epoch we do not have (yet): the caller may buffer and retry
        if parts.context_id > self.layout.max_context_id:
            raise UnknownKeyIdError(kid, f"context id {parts.context_id} above {self.layout.max_context_id}")
        if parts.leaf_index == keys.own_leaf:
            # "Implementations MUST mark each base_key as usable for encryption or decryption, never both."
            raise UnknownKeyIdError(kid, "this member's own send KID is never used to receive")
        if parts.leaf_index in keys.revoked:
            raise ExpiredKeyIdError(kid, f"leaf {parts.leaf_index} was removed from the group")
        return keys.base_key.reveal()

    # -- frames -----------------------------------------------------------------------------------

    def protect(self, plaintext: bytes, metadata: bytes = b"", context_id: int = 0) -> bytes:
        """Encrypt an outgoing frame under this member's current-epoch key for ``context_id``."""
        sender = self._senders.get(context_id)
        if sender is None:
            kid = self.kid(context_id)  # validates context_id
            sender = self._senders[context_id] = SFrameSender(self.suite, kid, self._current.base_key.reveal())
        return sender.protect(plaintext, metadata)

    def unprotect(self, data: bytes, now: float, metadata: bytes = b"") -> bytes:
        """Decrypt an incoming frame of any member, in the current or a retained epoch."""
        if now >= self._next_deadline:
            self.expire(now)
        return self._receiver.unprotect(data, metadata)

    def unprotect_frame(self, data: bytes, now: float, metadata: bytes = b"") -> MlsFrame:
        """Like :meth:`unprotect`, also saying who sent the frame, in which epoch and stream."""
        if now >= self._next_deadline:
            self.expire(now)
        frame = self._receiver.unprotect_frame(data, metadata)
        parts = self.layout.split(frame.kid)
        return MlsFrame(
            sender=parts.leaf_index,
            epoch=self._epochs[parts.epoch_bits].epoch,
            context_id=parts.context_id,
            counter=frame.counter,
            plaintext=frame.plaintext,
        )

    def __repr__(self) -> str:
        return (
            f"MlsSFrameKeys({self.suite.name}, epoch={self._current.epoch}, "
            f"leaf={self._current.own_leaf}, retained={list(self.retained_epochs)}, <keys hidden>)"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError("MlsSFrameKeys holds keys and cannot be pickled")
