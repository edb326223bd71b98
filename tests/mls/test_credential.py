"""Credentials (RFC 9420 §5.3): round trips and strict credential types."""

from __future__ import annotations

import pytest
from hypothesis import given

from enseal.errors import DecodeError
from enseal.mls.credential import BasicCredential, Credential, X509Credential
from enseal.mls.wire import deserialize, serialize

from .struct_strategies import credentials


@given(credentials)
def test_round_trip(credential: Credential) -> None:
    data = serialize(credential)
    again = deserialize(Credential, data)
    assert again == credential
    assert serialize(again) == data


def test_basic_encoding() -> None:
    assert serialize(BasicCredential(identity=b"alice")) == bytes.fromhex("0001") + b"\x05alice"


@pytest.mark.parametrize("credential_type", [0x0000, 0x0003, 0x0A0A, 0xF000])
def test_unknown_or_grease_credential_type_rejected(credential_type: int) -> None:
    # GREASE "MUST NOT be sent" in Credential.credential_type (RFC 9420 §13.5).
    with pytest.raises(DecodeError, match="unknown CredentialType"):
        deserialize(Credential, credential_type.to_bytes(2, "big") + b"\x00")


def test_decoding_as_the_other_variant_is_rejected() -> None:
    with pytest.raises(DecodeError, match="expected a X509Credential"):
        deserialize(X509Credential, serialize(BasicCredential(identity=b"a")))
