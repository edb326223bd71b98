"""Cryptography for Enseal (layer L2): the only package that imports ``cryptography``.

:class:`CipherSuite` is the one interface the protocol cores use; :func:`cipher_suite` returns
it for any of the seven MLS suites. HPKE (RFC 9180) is implemented on pyca's primitives in
:mod:`enseal.crypto.hpke` because MLS needs its exporter and DeriveKeyPair.
"""

from enseal.crypto.aead import AeadAlgorithm
from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.hpke import HpkeContext, HpkeSuite
from enseal.crypto.kem import DhKem, HpkePrivateKey
from enseal.crypto.randomness import RandomSource, system_random
from enseal.crypto.secret import Secret, constant_time_equal
from enseal.crypto.signature import SignaturePrivateKey, SignatureScheme
from enseal.crypto.suites import (
    DEFAULT_SUITE_ID,
    SUPPORTED_SUITES,
    CipherSuite,
    UnsupportedCipherSuite,
    cipher_suite,
)

__all__ = [
    "DEFAULT_SUITE_ID",
    "SUPPORTED_SUITES",
    "AeadAlgorithm",
    "CipherSuite",
    "DhKem",
    "HashAlgorithm",
    "HpkeContext",
    "HpkePrivateKey",
    "HpkeSuite",
    "RandomSource",
    "Secret",
    "SignaturePrivateKey",
    "SignatureScheme",
    "UnsupportedCipherSuite",
    "cipher_suite",
    "constant_time_equal",
    "system_random",
]
