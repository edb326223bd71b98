"""Identifier formats and the device credential identity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.wire import InvalidIdentifier, UserAddress, device_identity, parse_device_identity
from enseal.wire.identifiers import ADDRESS_PATTERN

DEVICE = "0123456789abcdef0123456789abcdef"


def test_device_identity_is_user_at_tenant_slash_device() -> None:
    alice = UserAddress.parse("alice@acme")
    assert device_identity(alice, DEVICE) == f"alice@acme/{DEVICE}".encode()
    assert parse_device_identity(device_identity(alice, DEVICE)) == (alice, DEVICE)


@pytest.mark.parametrize(
    "text",
    [
        "alice",
        "@acme",
        "alice@",
        "Alice@acme",
        "alice@ac_me",
        "al ice@acme",
        "-alice@acme",
        "alice@acme-",
        "a" * 65 + "@acme",
    ],
)
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(InvalidIdentifier):
        UserAddress.parse(text)


@pytest.mark.parametrize(
    "identity",
    [
        b"alice@acme",
        b"alice@acme/" + b"0" * 31,
        b"alice@acme/" + DEVICE.upper().encode(),
        b"\xff@acme/" + DEVICE.encode(),
    ],
)
def test_bad_identities_are_refused(identity: bytes) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_device_identity(identity)


@given(st.from_regex(ADDRESS_PATTERN, fullmatch=True))
def test_every_address_the_schema_allows_parses(text: str) -> None:
    assert str(UserAddress.parse(text)) == text
