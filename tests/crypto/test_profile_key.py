"""The profile key: Argon2id from the passphrase (RFC 9106 parameters), sealed records bound to
their names, the passphrase check, and refusal of weakened or absurd stored parameters."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from enseal.crypto.profile_key import (
    ARGON2_ITERATIONS,
    ARGON2_LANES,
    ARGON2_MEMORY_KIB,
    KdfParameters,
    ProfileKey,
    WrongPassphrase,
)
from enseal.errors import AuthenticationError, LocalProtocolError

SALT = bytes(range(16))


@pytest.fixture(scope="module")
def key() -> ProfileKey:
    return ProfileKey.derive("correct horse battery staple", KdfParameters(salt=SALT))


def test_defaults_are_the_rfc_9106_second_recommendation() -> None:
    assert (ARGON2_ITERATIONS, ARGON2_LANES, ARGON2_MEMORY_KIB) == (3, 4, 65536)


def test_derivation_is_argon2id_then_hkdf(key: ProfileKey) -> None:
    raw = Argon2id(salt=SALT, length=32, iterations=3, lanes=4, memory_cost=65536).derive(
        b"correct horse battery staple"
    )
    assert key == ProfileKey(raw)
    assert ProfileKey(raw).reveal() != raw  # the record key is expanded, not the Argon2 output itself
    assert "hidden" in repr(key) and raw.hex() not in repr(key)


def test_records_open_only_under_their_name_and_key(key: ProfileKey) -> None:
    sealed = key.seal(b"group state", context=b"record:group:ab", random_bytes=os.urandom)
    assert key.open(sealed, context=b"record:group:ab") == b"group state"
    with pytest.raises(AuthenticationError):
        key.open(sealed, context=b"record:group:cd")
    other = ProfileKey.derive("another passphrase", KdfParameters(salt=SALT))
    with pytest.raises(AuthenticationError):
        other.open(sealed, context=b"record:group:ab")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(AuthenticationError):
        key.open(tampered, context=b"record:group:ab")


def test_wrong_passphrase_is_told_apart(key: ProfileKey) -> None:
    check = key.check_value(os.urandom)
    key.verify_check_value(check)
    with pytest.raises(WrongPassphrase):
        ProfileKey.derive("wrong", KdfParameters(salt=SALT)).verify_check_value(check)


def test_tags_are_keyed(key: ProfileKey) -> None:
    other = ProfileKey.derive("another passphrase", KdfParameters(salt=SALT))
    assert key.tag(b"history:bob@acme") == key.tag(b"history:bob@acme")
    assert key.tag(b"history:bob@acme") != other.tag(b"history:bob@acme")
    assert b"bob" not in key.tag(b"history:bob@acme")


@pytest.mark.parametrize(
    "parameters",
    [
        KdfParameters(salt=b"short"),
        KdfParameters(salt=SALT, memory_kib=1024),
        KdfParameters(salt=SALT, iterations=0),
        KdfParameters(salt=SALT, iterations=10_000),
        KdfParameters(salt=SALT, lanes=0),
        KdfParameters(salt=SALT, memory_kib=64 * 1024 * 1024),
    ],
)
def test_stored_parameters_out_of_range_are_refused(parameters: KdfParameters) -> None:
    with pytest.raises(LocalProtocolError):
        ProfileKey.derive("passphrase", parameters)
