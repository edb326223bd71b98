"""The send side of SFrame (RFC 9605 section 4.4.3): one send key, its KID and its CTR.

An :class:`SFrameSender` owns the counter of its key. Each :meth:`~SFrameSender.protect` takes the
next CTR, so a (key, CTR) pair is never used twice by one sender, and it refuses to go past
2^64 - 1 instead of wrapping ("senders MUST reject requests to encrypt multiple times with the same
key and nonce", section 9.3). The key management above must give each base key and KID to exactly
one sender ("A given base_key MUST NOT be used for encryption by multiple senders", section 4.4.1);
the MLS binding does so by construction. To resume a persisted context, pass the stored
``next_counter`` (section 9.1: store it before use).

This is the hot path of every outgoing media frame: the header is computed as one integer XOR and
one ``to_bytes`` (its fixed bits are recomputed only when the CTR grows a byte), the nonce likewise,
and the AEAD is a cached pyca key object.
"""

from __future__ import annotations

from typing import NoReturn

from enseal.crypto.sframe_cipher import NONCE_SIZE, FrameSeal
from enseal.errors import LocalProtocolError
from enseal.sframe.errors import CounterExhaustedError
from enseal.sframe.header import MAX_COUNTER, MAX_KID, encode_header
from enseal.sframe.key_schedule import derive_key_salt
from enseal.sframe.suites import SFrameCipherSuite


class SFrameSender:
    """Encrypts frames under one base key and KID, CTR counting up from ``next_counter``."""

    __slots__ = ("_boundary", "_counter", "_header_size", "_header_xor", "_salt", "_seal", "kid", "suite")

    def __init__(self, suite: SFrameCipherSuite, kid: int, base_key: bytes, *, next_counter: int = 0) -> None:
        if not 0 <= kid <= MAX_KID:
            raise LocalProtocolError(f"KID {kid} out of range 0..2^64-1")
        if not 0 <= next_counter <= MAX_COUNTER + 1:
            raise LocalProtocolError(f"next CTR {next_counter} out of range 0..2^64")
        material = derive_key_salt(suite, kid, base_key)
        self.suite = suite
        self.kid = kid
        self._seal: FrameSeal = suite.frame_cipher(material.key.reveal())[0]
        self._salt = int.from_bytes(material.salt, "big")
        self._counter = next_counter
        self._boundary = next_counter  # forces _enter_header_form on the first protect
        self._header_xor = 0
        self._header_size = 0

    @property
    def next_counter(self) -> int:
        """The CTR the next frame will use (persist this before using it)."""
        return self._counter

    def _enter_header_form(self, counter: int) -> None:
        """Set the header's fixed bits for ``counter`` and the CTR at which they change next."""
        if counter > MAX_COUNTER:
            raise CounterExhaustedError(f"SFrame send key of KID 0x{self.kid:x} exhausted: CTR would wrap")
        header = encode_header(self.kid, counter)
        self._header_size = len(header)
        self._header_xor = int.from_bytes(header, "big") ^ counter
        # CTR 0-7 live in the config byte (one form each); above, a form lasts while the CTR keeps its byte length.
        self._boundary = counter + 1 if counter < 8 else 1 << 8 * ((counter.bit_length() + 7) // 8)

    def protect(self, plaintext: bytes, metadata: bytes = b"") -> bytes:
        """``encrypt(CTR, KID, metadata, plaintext)`` of section 4.4.3: header || AEAD ciphertext."""
        counter = self._counter
        if counter >= self._boundary:
            self._enter_header_form(counter)
        self._counter = counter + 1  # consumed even if sealing fails: a CTR is never offered twice
        header = (self._header_xor ^ counter).to_bytes(self._header_size, "big")
        # nonce = xor(sframe_salt, CTR); aad = header + metadata
        return header + self._seal(
            (self._salt ^ counter).to_bytes(NONCE_SIZE, "big"), plaintext, header + metadata if metadata else header
        )

    def __repr__(self) -> str:
        return f"SFrameSender({self.suite.name}, kid=0x{self.kid:x}, next_counter={self._counter}, <key hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("SFrameSender holds a key and cannot be pickled; persist next_counter instead")
