"""Pre-shared keys in the key schedule (RFC 9420 section 8.4): the chained psk_secret."""

from __future__ import annotations

from collections.abc import Sequence

from enseal.codec import Writer
from enseal.crypto import CipherSuite
from enseal.errors import LocalProtocolError
from enseal.mls.key_schedule import PskSecret, zero_secret

MAX_PSKS = 0xFFFF
"""PSKLabel carries index and count as uint16."""


def psk_secret(suite: CipherSuite, psks: Sequence[tuple[bytes, bytes]]) -> PskSecret:
    """psk_secret from ``(encoded PreSharedKeyID, psk value)`` pairs, in commit order.

    psk_extracted_[i] = KDF.Extract(0, psk_[i])
    psk_input_[i] = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
    psk_secret_[i] = KDF.Extract(psk_input_[i-1], psk_secret_[i-1]), psk_secret_[0] = 0
    """
    count = len(psks)
    if count > MAX_PSKS:
        raise LocalProtocolError(f"at most {MAX_PSKS} PSKs in one commit")
    zero = zero_secret(suite)
    secret = zero
    for index, (encoded_id, psk) in enumerate(psks):
        extracted = suite.extract(zero, psk)
        label = Writer()
        label.fixed(encoded_id)
        label.u16(index)
        label.u16(count)
        psk_input = suite.expand_with_label(extracted, b"derived psk", label.getvalue(), suite.hash_size)
        secret = suite.extract(psk_input, secret)
    return PskSecret(secret)
