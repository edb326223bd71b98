"""Envelope encryption primitives: wrap/unwrap and seal/open, bound to KEK id and context."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.crypto.envelope import (
    DataKey,
    KeyEncryptionKey,
    open_record,
    seal_record,
    unwrap_data_key,
    wrap_data_key,
)
from enseal.errors import AuthenticationError, CryptoError

RNG = random.Random(1).randbytes


def test_wrap_round_trip_and_wrong_kek() -> None:
    kek, other = KeyEncryptionKey.generate(RNG), KeyEncryptionKey.generate(RNG)
    data_key = DataKey.generate(RNG)
    wrapped = wrap_data_key(kek, data_key, RNG)
    assert unwrap_data_key(kek, wrapped) == data_key
    assert data_key.reveal() not in wrapped
    with pytest.raises(AuthenticationError):
        unwrap_data_key(other, wrapped)
    # Same key bytes under another id: the id is bound as associated data.
    with pytest.raises(AuthenticationError):
        unwrap_data_key(KeyEncryptionKey(kek.reveal(), kek_id=other.kek_id), wrapped)


@given(plaintext=st.binary(max_size=512), context=st.binary(max_size=64))
def test_seal_open_round_trip(plaintext: bytes, context: bytes) -> None:
    data_key = DataKey(bytes(32))
    sealed = seal_record(data_key, plaintext, context=context, random_bytes=RNG)
    assert open_record(data_key, sealed, context=context) == plaintext
    with pytest.raises(AuthenticationError):
        open_record(data_key, sealed, context=context + b"x")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(AuthenticationError):
        open_record(data_key, bytes(tampered), context=context)


def test_kek_file_round_trip_and_secrecy() -> None:
    kek = KeyEncryptionKey.generate(RNG)
    assert KeyEncryptionKey.from_file(kek.to_file().reveal()) == kek
    assert kek.reveal().hex() not in repr(kek) and kek.kek_id in repr(kek)
    for bad in (b"", b"enseal-kek-v1 zz AAAA\n", b"enseal-kek-v2 " + kek.to_file().reveal()[14:], b"\xff"):
        with pytest.raises(CryptoError):
            KeyEncryptionKey.from_file(bad)
