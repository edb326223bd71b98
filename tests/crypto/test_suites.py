"""Cipher suites, signatures, curve parameters and the Secret type."""

from __future__ import annotations

import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from enseal.crypto import (
    SUPPORTED_SUITES,
    HpkePrivateKey,
    Secret,
    SignatureScheme,
    UnsupportedCipherSuite,
    cipher_suite,
    system_random,
)
from enseal.crypto.curves import NistCurve
from enseal.errors import AuthenticationError, CryptoError, LocalProtocolError, SignatureError


def test_seven_suites() -> None:
    assert SUPPORTED_SUITES == (1, 2, 3, 4, 5, 6, 7)
    with pytest.raises(UnsupportedCipherSuite):
        cipher_suite(0x0A0A)


@pytest.mark.parametrize("curve", list(NistCurve))
def test_curve_order_constants(curve: NistCurve) -> None:
    # (n-1)*G = -G: same x coordinate as G. Confirms the order we rejection-sample against.
    g = curve.private_key(1).public_key().public_numbers()
    minus_g = curve.private_key(curve.order - 1).public_key().public_numbers()
    assert minus_g.x == g.x
    assert minus_g.y == _p(curve) - g.y


def _p(curve: NistCurve) -> int:
    return {
        NistCurve.P256: 2**256 - 2**224 + 2**192 + 2**96 - 1,
        NistCurve.P384: 2**384 - 2**128 - 2**96 + 2**32 - 1,
        NistCurve.P521: 2**521 - 1,
    }[curve]


@pytest.mark.parametrize("suite_id", SUPPORTED_SUITES)
def test_sign_verify_and_forgery(suite_id: int) -> None:
    suite = cipher_suite(suite_id)
    key = suite.generate_signature_key(system_random)
    sig = suite.sign_with_label(key, b"Test", b"content")
    suite.verify_with_label(key.public_key, b"Test", b"content", sig)
    with pytest.raises(SignatureError):
        suite.verify_with_label(key.public_key, b"Test", b"content!", sig)
    with pytest.raises(SignatureError):
        suite.verify_with_label(key.public_key, b"Other", b"content", sig)
    other = suite.generate_signature_key(system_random)
    with pytest.raises(SignatureError):
        suite.verify_with_label(other.public_key, b"Test", b"content", sig)
    reloaded = suite.signature_key(key.private_bytes().reveal())
    assert reloaded.public_key == key.public_key


@pytest.mark.parametrize("suite_id", SUPPORTED_SUITES)
def test_encrypt_with_label_round_trip(suite_id: int) -> None:
    suite = cipher_suite(suite_id)
    key = suite.generate_hpke_key(system_random)
    kem_output, ct = suite.encrypt_with_label(key.public_key, b"L", b"ctx", b"secret", system_random)
    assert suite.decrypt_with_label(key, b"L", b"ctx", kem_output, ct) == b"secret"
    with pytest.raises(AuthenticationError):
        suite.decrypt_with_label(key, b"L", b"other ctx", kem_output, ct)


def test_invalid_signature_public_key() -> None:
    with pytest.raises(CryptoError):
        SignatureScheme.ECDSA_P256_SHA256.verify(b"\x04" + b"\x01" * 64, b"m", b"sig")
    with pytest.raises(CryptoError):
        SignatureScheme.ED25519.verify(b"short", b"m", b"sig")


def test_wrong_length_private_key() -> None:
    with pytest.raises(LocalProtocolError):
        cipher_suite(1).signature_key(b"\x01" * 31)


def test_ecdsa_signatures_are_der() -> None:
    suite = cipher_suite(2)
    key = suite.generate_signature_key(system_random)
    sig = key.sign(b"m")
    assert sig[0] == 0x30  # DER SEQUENCE (RFC 9420 §5.1.2: "ECDSA signatures are DER encoded")
    r, s = _der_decode(sig)
    assert 0 < r < NistCurve.P256.order and 0 < s < NistCurve.P256.order


def _der_decode(sig: bytes) -> tuple[int, int]:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    return decode_dss_signature(sig)


def test_secret_hides_and_compares() -> None:
    s = Secret(b"\x01" * 32)
    assert "01" not in repr(s) and "hidden" in repr(s) and "hidden" in str(s)
    assert s == Secret(b"\x01" * 32) and s != Secret(b"\x02" * 32)
    with pytest.raises(TypeError):
        hash(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_private_keys_hidden() -> None:
    suite = cipher_suite(1)
    hk = suite.generate_hpke_key(system_random)
    sk = suite.generate_signature_key(system_random)
    assert hk.private_bytes().reveal().hex() not in repr(hk)
    assert sk.private_bytes().reveal().hex() not in repr(sk)
    with pytest.raises(TypeError):
        pickle.dumps(hk)
    assert isinstance(hk, HpkePrivateKey)


def test_p256_public_key_not_on_curve() -> None:
    pub = ec.derive_private_key(5, ec.SECP256R1()).public_key().public_numbers()
    bad = b"\x04" + pub.x.to_bytes(32, "big") + (pub.y ^ 1).to_bytes(32, "big")
    with pytest.raises(CryptoError):
        SignatureScheme.ECDSA_P256_SHA256.check_public_key(bad)
