"""The receive side of SFrame (RFC 9605 section 4.4.4): keys by KID, anti-replay, typed refusals.

``decrypt(metadata, sframe_ciphertext)``: parse the header, select the key by KID, form the nonce
from the CTR, authenticate header + metadata and decrypt. Each refused frame raises one error from
:mod:`enseal.sframe.errors`: a malformed header, an unknown KID, a failed tag, a replay, a CTR below
the replay window.

Keys are registered with :meth:`SFrameReceiver.add_key`, or found on demand through a
:data:`KeyResolver` (the MLS binding derives every member's key this way, on its first frame). A key
found by the resolver is kept only once a frame under it has authenticated, so unauthenticated input
cannot fill the receiver. Keys are "usable for encryption or decryption, never both" (section
4.4.1): a receiver never encrypts.

The fast path (a registered key) parses the header with a table lookup, one ``int.from_bytes`` and a
dict lookup (see :mod:`enseal.sframe.header`); everything unusual goes to the strict slow path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from enseal.crypto.sframe_cipher import AUTHENTICATION_FAILURES, NONCE_SIZE, FrameOpen
from enseal.errors import InternalError, LocalProtocolError
from enseal.sframe.errors import (
    FrameAuthenticationError,
    ReceiveKeyLimitError,
    SFrameDecodeError,
    UnknownKeyIdError,
)
from enseal.sframe.header import HEADER_LAYOUT, MAX_KID, SFrameHeader, decode_header, key_field_entries
from enseal.sframe.key_schedule import derive_key_salt
from enseal.sframe.replay import REPLAY_WINDOW, ReplayWindow
from enseal.sframe.suites import SFrameCipherSuite

MAX_RECEIVE_KEYS: Final = 16_384
"""Keys one receiver holds at most (a 1,000-member meeting with 4 streams each over 4 epochs fits)."""

KeyResolver = Callable[[int], bytes | None]
"""``resolve(kid)``: the base key to try for a KID that has no registered key, or None if there is
none. It may raise :class:`~enseal.sframe.errors.UnknownKeyIdError` (or a subclass) to say why."""

_from_bytes = int.from_bytes  # bound once: looking up a classmethod per frame allocates a method object


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedFrame:
    """A decrypted frame with the KID and CTR its header carried (both authenticated)."""

    kid: int
    counter: int
    plaintext: bytes = field(repr=False)


class _ReceiveKey:
    """One KID's key: the AEAD ``open``, the salt as an integer and the replay window."""

    __slots__ = ("kid", "open", "replay", "salt")

    def __init__(self, kid: int, open_: FrameOpen, salt: int, replay: ReplayWindow) -> None:
        self.kid = kid
        self.open = open_
        self.salt = salt
        self.replay = replay

    def __repr__(self) -> str:
        return f"_ReceiveKey(kid=0x{self.kid:x}, <key hidden>)"


# One fast-path entry per header form of a registered KID: (counter_xor, counter_min, salt, open, replay).
_Entry = tuple[int, int, int, FrameOpen, ReplayWindow]


class SFrameReceiver:
    """Decrypts frames of one cipher suite under the keys it holds, each with its replay window."""

    __slots__ = ("_entries", "_keys", "_lookup", "_max_keys", "_resolve", "_window", "suite")

    def __init__(
        self,
        suite: SFrameCipherSuite,
        *,
        replay_window: int = REPLAY_WINDOW,
        max_keys: int = MAX_RECEIVE_KEYS,
        resolve: KeyResolver | None = None,
    ) -> None:
        ReplayWindow(replay_window)  # validates the size
        if max_keys < 1:
            raise LocalProtocolError(f"max_keys must be positive, got {max_keys}")
        self.suite = suite
        self._window = replay_window
        self._max_keys = max_keys
        self._resolve = resolve
        self._keys: dict[int, _ReceiveKey] = {}
        self._entries: dict[int, _Entry] = {}
        self._lookup = self._entries.get

    # -- keys -------------------------------------------------------------------------------------

    @property
    def kids(self) -> frozenset[int]:
        """The KIDs that have a key."""
        return frozenset(self._keys)

    def add_key(self, kid: int, base_key: bytes) -> None:
        """Register ``base_key`` for ``kid`` (receive only). A KID keeps its key until removed."""
        if kid in self._keys:
            # Replacing a key would also reset its replay window and let old frames in again.
            raise LocalProtocolError(f"KID 0x{kid:x} already has a receive key; remove it first")
        if len(self._keys) >= self._max_keys:
            raise ReceiveKeyLimitError(f"receiver holds its maximum of {self._max_keys} keys")
        self._register(self._derive(kid, base_key))

    def remove_key(self, kid: int) -> None:
        """Forget ``kid``'s key (no-op if it has none)."""
        if self._keys.pop(kid, None) is not None:
            for key_field, _, _ in key_field_entries(kid):
                del self._entries[key_field]

    def _derive(self, kid: int, base_key: bytes) -> _ReceiveKey:
        if not 0 <= kid <= MAX_KID:
            raise LocalProtocolError(f"KID {kid} out of range 0..2^64-1")
        material = derive_key_salt(self.suite, kid, base_key)
        open_ = self.suite.frame_cipher(material.key.reveal())[1]
        return _ReceiveKey(kid, open_, int.from_bytes(material.salt, "big"), ReplayWindow(self._window))

    def _register(self, key: _ReceiveKey) -> None:
        self._keys[key.kid] = key
        for key_field, counter_xor, counter_min in key_field_entries(key.kid):
            self._entries[key_field] = (counter_xor, counter_min, key.salt, key.open, key.replay)

    # -- frames -----------------------------------------------------------------------------------

    def unprotect(self, data: bytes, metadata: bytes = b"") -> bytes:
        """``decrypt(metadata, sframe_ciphertext)``: the plaintext, or one of the typed errors."""
        try:
            size, key_shift = HEADER_LAYOUT[data[0]]
        except IndexError:
            raise SFrameDecodeError("SFrame header truncated (RFC 9605 section 4.3)", "empty frame") from None
        if len(data) < size:
            raise SFrameDecodeError("SFrame header truncated (RFC 9605 section 4.3)", f"{len(data)} < {size} bytes")
        header = data[:size]
        h = _from_bytes(header, "big")
        entry = self._lookup(h >> key_shift)
        if entry is None:
            return self._unprotect_unregistered(data, metadata)
        counter_xor, counter_min, salt, open_, replay = entry
        counter = h ^ counter_xor
        if counter < counter_min:
            raise SFrameDecodeError("SFrame header field not minimally encoded (RFC 9605 section 4.3)", "CTR")
        top = replay.top
        if counter <= top:
            replay.check(counter)
        try:
            # nonce = xor(sframe_salt, CTR); aad = header + metadata
            plaintext = open_(
                (salt ^ counter).to_bytes(NONCE_SIZE, "big"), data[size:], header + metadata if metadata else header
            )
        except AUTHENTICATION_FAILURES as exc:
            raise FrameAuthenticationError("SFrame frame failed authentication") from exc
        if counter == top + 1:
            replay.top = counter
        else:
            replay.accept(counter)
        return plaintext

    def unprotect_frame(self, data: bytes, metadata: bytes = b"") -> ReceivedFrame:
        """Like :meth:`unprotect`, also returning the header's KID and CTR."""
        plaintext = self.unprotect(data, metadata)
        header = decode_header(data)
        return ReceivedFrame(kid=header.kid, counter=header.counter, plaintext=plaintext)

    def _unprotect_unregistered(self, data: bytes, metadata: bytes) -> bytes:
        """A header whose key field is not registered: malformed, or a KID without a key."""
        header = decode_header(data)  # strict: refuses non-minimal KIDs, which no entry matches
        if header.kid in self._keys:
            raise InternalError(f"KID 0x{header.kid:x} has a key but no entry for its header form")
        base_key = self._resolve(header.kid) if self._resolve is not None else None
        if base_key is None:
            raise UnknownKeyIdError(header.kid)
        if len(self._keys) >= self._max_keys:
            raise ReceiveKeyLimitError(f"receiver holds its maximum of {self._max_keys} keys")
        key = self._derive(header.kid, base_key)
        plaintext = self._open(key, header, data, metadata)
        key.replay.accept(header.counter)
        self._register(key)  # only now that a frame under it authenticated
        return plaintext

    @staticmethod
    def _open(key: _ReceiveKey, header: SFrameHeader, data: bytes, metadata: bytes) -> bytes:
        nonce = (key.salt ^ header.counter).to_bytes(NONCE_SIZE, "big")
        try:
            return key.open(nonce, data[header.size :], data[: header.size] + metadata)
        except AUTHENTICATION_FAILURES as exc:
            raise FrameAuthenticationError("SFrame frame failed authentication") from exc

    def __repr__(self) -> str:
        return f"SFrameReceiver({self.suite.name}, {len(self._keys)} keys, window={self._window})"
