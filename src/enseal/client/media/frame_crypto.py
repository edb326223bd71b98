"""Frame crypto: how the media pipeline protects and unprotects frames, whatever the keys.

:class:`FrameCrypto` is all :class:`~enseal.client.media.session.MediaSession` needs:
``protect(payload, metadata) -> bytes`` and ``unprotect(data, metadata) -> bytes`` (SFrame,
RFC 9605 section 4.4, with ``metadata`` the authenticated
:func:`~enseal.media.sframe_metadata` of the frame). :class:`SFrameCrypto` implements it on
:class:`~enseal.sframe.MlsSFrameKeys` for both kinds of call:

* **end to end** (:meth:`SFrameCrypto.end_to_end`): the keys come from the call's MLS group
  (``MLS-Exporter("SFrame 1.0 Base Key", "", Nk)``, RFC 9605 section 5.2). The client calls
  ``crypto.keys.on_new_epoch(...)`` after every commit it merges; the next frame is sent under
  the new epoch and the old epoch's frames still play for the grace window.
* **standard encryption** (:meth:`SFrameCrypto.standard`): the base key is the one the service
  sent in ``call.media_key``; the caller sends as leaf 0 and the callee as leaf 1 of epoch 0, so
  the service (a recorder) can derive both send keys. The call is labelled so on both sides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol

from enseal.crypto import Secret
from enseal.sframe import MlsSFrameKeys
from enseal.signalling import CallEncryption, CallRole

STANDARD_CALL_LEAF: Final = {CallRole.CALLER: 0, CallRole.CALLEE: 1}
"""The SFrame sender index of each side of a standard-encryption call (epoch 0)."""


class FrameCrypto(Protocol):
    """Protects outgoing and unprotects incoming frames of one call."""

    @property
    def encryption(self) -> CallEncryption: ...

    def protect(self, payload: bytes, metadata: bytes) -> bytes: ...

    def unprotect(self, data: bytes, metadata: bytes) -> bytes:
        """The plaintext, or an SFrame error (:mod:`enseal.sframe.errors`) for a frame to drop."""
        ...


class SFrameCrypto:
    """:class:`FrameCrypto` over :class:`MlsSFrameKeys`; ``clock`` gives the receive side's
    ``now`` (seconds, monotonic) for the epoch grace window."""

    __slots__ = ("_clock", "_encryption", "keys")

    def __init__(
        self, keys: MlsSFrameKeys, *, encryption: CallEncryption, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.keys = keys
        self._encryption = encryption
        self._clock = clock

    @classmethod
    def end_to_end(cls, keys: MlsSFrameKeys, *, clock: Callable[[], float] = time.monotonic) -> SFrameCrypto:
        """Frame crypto keyed from the call's MLS group."""
        return cls(keys, encryption=CallEncryption.END_TO_END, clock=clock)

    @classmethod
    def standard(
        cls, media_key: Secret, *, role: CallRole, clock: Callable[[], float] = time.monotonic
    ) -> SFrameCrypto:
        """Frame crypto with the service's media key of a standard-encryption call."""
        keys = MlsSFrameKeys(base_key=media_key.reveal(), epoch=0, own_leaf_index=STANDARD_CALL_LEAF[role])
        return cls(keys, encryption=CallEncryption.STANDARD, clock=clock)

    @property
    def encryption(self) -> CallEncryption:
        return self._encryption

    def protect(self, payload: bytes, metadata: bytes) -> bytes:
        return self.keys.protect(payload, metadata)

    def unprotect(self, data: bytes, metadata: bytes) -> bytes:
        return self.keys.unprotect(data, self._clock(), metadata)

    def __repr__(self) -> str:
        return f"SFrameCrypto({self._encryption.value}, {self.keys!r})"
