"""Our RFC 9180 HPKE against pyca/cryptography's ``hpke.Suite``, in both directions."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from enseal.crypto import AeadAlgorithm, DhKem, HpkeSuite, system_random
from enseal.errors import AuthenticationError, CryptoError

# pyca's HPKE covers these KEMs (not X448), each with its own KDF per RFC 9180.
PYCA_KEMS = {
    DhKem.X25519: (pyca_hpke.KEM.X25519, pyca_hpke.KDF.HKDF_SHA256),
    DhKem.P256: (pyca_hpke.KEM.P256, pyca_hpke.KDF.HKDF_SHA256),
    DhKem.P384: (pyca_hpke.KEM.P384, pyca_hpke.KDF.HKDF_SHA384),
    DhKem.P521: (pyca_hpke.KEM.P521, pyca_hpke.KDF.HKDF_SHA512),
}
PYCA_AEADS = {
    AeadAlgorithm.AES_128_GCM: pyca_hpke.AEAD.AES_128_GCM,
    AeadAlgorithm.AES_256_GCM: pyca_hpke.AEAD.AES_256_GCM,
    AeadAlgorithm.CHACHA20_POLY1305: pyca_hpke.AEAD.CHACHA20_POLY1305,
}
COMBOS = [(k, a) for k in PYCA_KEMS for a in PYCA_AEADS]


def _pyca_private(kem: DhKem, raw: bytes) -> x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey:
    if kem is DhKem.X25519:
        return x25519.X25519PrivateKey.from_private_bytes(raw)
    assert kem.curve is not None
    return ec.derive_private_key(int.from_bytes(raw, "big"), kem.curve.pyca())


def _suites(kem: DhKem, aead: AeadAlgorithm) -> tuple[HpkeSuite, pyca_hpke.Suite]:
    pyca_kem, pyca_kdf = PYCA_KEMS[kem]
    return HpkeSuite(kem, kem.kdf, aead), pyca_hpke.Suite(pyca_kem, pyca_kdf, PYCA_AEADS[aead])


@pytest.mark.parametrize(("kem", "aead"), COMBOS, ids=[f"{k.name}-{a.name}" for k, a in COMBOS])
def test_ours_seal_pyca_open(kem: DhKem, aead: AeadAlgorithm) -> None:
    ours, theirs = _suites(kem, aead)
    recipient = kem.generate_key_pair(system_random)
    info, message = os.urandom(17), os.urandom(100)
    enc, ciphertext = ours.seal(recipient.public_key, info, b"", message, system_random)
    sk = _pyca_private(kem, recipient.private_bytes().reveal())
    assert theirs.decrypt(enc + ciphertext, sk, info=info) == message


@pytest.mark.parametrize(("kem", "aead"), COMBOS, ids=[f"{k.name}-{a.name}" for k, a in COMBOS])
def test_pyca_seal_ours_open(kem: DhKem, aead: AeadAlgorithm) -> None:
    ours, theirs = _suites(kem, aead)
    recipient = kem.generate_key_pair(system_random)
    pk = _pyca_private(kem, recipient.private_bytes().reveal()).public_key()
    info, message = os.urandom(9), os.urandom(333)
    sealed = theirs.encrypt(message, pk, info=info)
    enc, ciphertext = sealed[: kem.enc_size], sealed[kem.enc_size :]
    assert ours.open(enc, recipient, info, b"", ciphertext) == message


@pytest.mark.parametrize("kem", list(DhKem))
def test_tampering_detected(kem: DhKem) -> None:
    suite = HpkeSuite(kem, kem.kdf, AeadAlgorithm.AES_128_GCM)
    recipient = kem.generate_key_pair(system_random)
    enc, ciphertext = suite.seal(recipient.public_key, b"info", b"aad", b"hello", system_random)
    with pytest.raises(AuthenticationError):
        suite.open(enc, recipient, b"info", b"aad", ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]))
    with pytest.raises(AuthenticationError):
        suite.open(enc, recipient, b"other info", b"aad", ciphertext)
    with pytest.raises(AuthenticationError):
        suite.open(enc, recipient, b"info", b"other aad", ciphertext)


@pytest.mark.parametrize("kem", list(DhKem))
def test_exporter_agrees_between_sender_and_receiver(kem: DhKem) -> None:
    suite = HpkeSuite(kem, kem.kdf, AeadAlgorithm.AES_256_GCM)
    recipient = kem.generate_key_pair(system_random)
    enc, sender = suite.setup_base_s(recipient.public_key, b"ctx", system_random)
    receiver = suite.setup_base_r(enc, recipient, b"ctx")
    assert sender.export(b"label", 42) == receiver.export(b"label", 42)
    assert sender.export(b"label", 42) != sender.export(b"other", 42)
    # multi-message context: sequence numbers advance in step
    for i in range(3):
        assert receiver.open(b"", sender.seal(b"", bytes([i]) * 5)) == bytes([i]) * 5


@pytest.mark.parametrize("kem", list(DhKem))
def test_derive_key_pair_is_deterministic(kem: DhKem) -> None:
    a = kem.derive_key_pair(b"\x01" * 32)
    b = kem.derive_key_pair(b"\x01" * 32)
    assert a.public_key == b.public_key and a == b
    assert kem.derive_key_pair(b"\x02" * 32).public_key != a.public_key


@pytest.mark.parametrize("kem", [DhKem.X25519, DhKem.P256])
def test_invalid_public_key_rejected(kem: DhKem) -> None:
    suite = HpkeSuite(kem, kem.kdf, AeadAlgorithm.AES_128_GCM)
    bad = b"\x04" + b"\x00" * (kem.public_key_size - 1) if kem.curve else b"\x00" * 32
    with pytest.raises(CryptoError):
        suite.seal(bad, b"", b"", b"x", system_random)
    with pytest.raises(CryptoError):
        suite.seal(b"\x01\x02", b"", b"", b"x", system_random)
