"""Frame ciphers (enseal.crypto.sframe_cipher) and the SFrame suite table (RFC 9605 section 4.5).

The AES-CTR + HMAC construction is pinned to the RFC vectors by tests/vectors; here: misuse,
tampering, and the registry's constants.
"""

from __future__ import annotations

import os

import pytest

from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.sframe_cipher import AUTHENTICATION_FAILURES, AesCtrHmac, aes_gcm_frame_cipher
from enseal.errors import AuthenticationError, LocalProtocolError
from enseal.sframe import SFrameCipherSuite, UnsupportedSFrameCipherSuite, sframe_cipher_suite

NONCE = bytes(range(12))
AAD = b"header+metadata"
PT = b"an audio frame" * 5

# (value, Nh, Nka, Nk, Nn, Nt) from the IANA "SFrame Cipher Suites" registry.
REGISTRY = [
    (0x0001, 32, 16, 48, 12, 10),
    (0x0002, 32, 16, 48, 12, 8),
    (0x0003, 32, 16, 48, 12, 4),
    (0x0004, 32, None, 16, 12, 16),
    (0x0005, 64, None, 32, 12, 16),
    (0x0006, 64, 32, 96, 12, 10),
    (0x0007, 64, 32, 96, 12, 8),
    (0x0008, 64, 32, 96, 12, 4),
]


@pytest.mark.parametrize(("value", "nh", "nka", "nk", "nn", "nt"), REGISTRY)
def test_suite_constants(value: int, nh: int, nka: int | None, nk: int, nn: int, nt: int) -> None:
    suite = sframe_cipher_suite(value)
    assert (suite.id, suite.hash_size, suite.key_size, suite.nonce_size, suite.tag_size) == (value, nh, nk, nn, nt)
    assert suite.ctr_hmac == (nka is not None)
    if nka is not None:
        assert suite.aes_key_size == nka


@pytest.mark.parametrize("value", [0x0000, 0x0009, 0xF000])
def test_unknown_suite(value: int) -> None:
    with pytest.raises(UnsupportedSFrameCipherSuite):
        sframe_cipher_suite(value)


@pytest.mark.parametrize("suite", list(SFrameCipherSuite), ids=lambda s: s.name)
def test_round_trip_and_tampering(suite: SFrameCipherSuite) -> None:
    seal, open_ = suite.frame_cipher(os.urandom(suite.key_size))
    ct = seal(NONCE, PT, AAD)
    assert len(ct) == len(PT) + suite.tag_size
    assert open_(NONCE, ct, AAD) == PT
    flipped = bytearray(ct)
    flipped[len(ct) // 2] ^= 1
    for args in ((NONCE, bytes(flipped), AAD), (NONCE, ct, AAD + b"!"), (bytes(12), ct, AAD), (NONCE, ct[:-1], AAD)):
        with pytest.raises(AUTHENTICATION_FAILURES):
            open_(*args)


@pytest.mark.parametrize("suite", list(SFrameCipherSuite), ids=lambda s: s.name)
def test_wrong_key_length(suite: SFrameCipherSuite) -> None:
    with pytest.raises(LocalProtocolError):
        suite.frame_cipher(bytes(suite.key_size + 1))


def test_ctr_hmac_short_ciphertext_and_bad_parameters() -> None:
    aead = AesCtrHmac(bytes(48), aes_key_size=16, hash_alg=HashAlgorithm.SHA256, tag_size=4)
    with pytest.raises(AuthenticationError, match="shorter"):
        aead.open(NONCE, b"abc", AAD)
    with pytest.raises(LocalProtocolError):
        aead.seal(bytes(8), PT, AAD)
    with pytest.raises(LocalProtocolError):
        aead.open(bytes(8), aead.seal(NONCE, PT, AAD), AAD)
    with pytest.raises(LocalProtocolError):
        AesCtrHmac(bytes(48), aes_key_size=16, hash_alg=HashAlgorithm.SHA256, tag_size=33)
    with pytest.raises(LocalProtocolError):
        AesCtrHmac(bytes(47), aes_key_size=16, hash_alg=HashAlgorithm.SHA256, tag_size=4)
    assert "hidden" in repr(aead)


def test_ctr_hmac_tag_binds_lengths() -> None:
    """Moving bytes between AAD and ciphertext changes the tag (lengths are authenticated)."""
    aead = AesCtrHmac(os.urandom(48), aes_key_size=16, hash_alg=HashAlgorithm.SHA256, tag_size=10)
    ct = aead.seal(NONCE, PT, AAD)
    with pytest.raises(AuthenticationError):
        aead.open(NONCE, ct[1:], AAD + ct[:1])


def test_gcm_key_sizes() -> None:
    with pytest.raises(LocalProtocolError):
        aes_gcm_frame_cipher(bytes(24))
    seal, open_ = aes_gcm_frame_cipher(bytes(32))
    assert open_(NONCE, seal(NONCE, PT, AAD), AAD) == PT
