"""Keys for PrivateMessage sender-data encryption (RFC 9420 section 6.3.2).

The key and nonce are derived from the sender_data_secret and a sample of the content
ciphertext: "ciphertext_sample = ciphertext[0..KDF.Nh-1]"; if the ciphertext is shorter than
KDF.Nh, the whole ciphertext is the sample.
"""

from __future__ import annotations

from enseal.crypto import CipherSuite
from enseal.mls.key_schedule import SenderDataSecret


def sender_data_key_nonce(
    suite: CipherSuite, sender_data_secret: SenderDataSecret, ciphertext: bytes
) -> tuple[bytes, bytes]:
    sample = ciphertext[: suite.hash_size]
    secret = sender_data_secret.reveal()
    return (
        suite.expand_with_label(secret, b"key", sample, suite.key_size),
        suite.expand_with_label(secret, b"nonce", sample, suite.nonce_size),
    )
