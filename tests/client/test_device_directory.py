"""The client's Authentication Service check: pinned device keys, key substitution refused,
first sight only where allowed, and the user identity key of the safety number."""

from __future__ import annotations

from pathlib import Path

import pytest

from enseal.client.device_directory import DeviceDirectory
from enseal.client.errors import UnknownDevice, UntrustedDevice
from enseal.client.profile_store import ProfileStore
from enseal.mls.credential import BasicCredential

ALICE_1 = "0" * 31 + "1"
ALICE_2 = "0" * 31 + "2"


@pytest.fixture
def directory(tmp_path: Path) -> DeviceDirectory:
    return DeviceDirectory(ProfileStore.create(tmp_path / "p", "passphrase"))


def credential(device_id: str, user: str = "alice@acme") -> BasicCredential:
    return BasicCredential(identity=f"{user}/{device_id}".encode())


def test_pinned_key_passes_and_a_substituted_one_is_refused(directory: DeviceDirectory) -> None:
    directory.learn("alice@acme", ALICE_1, b"k" * 32)
    assert directory.check(credential(ALICE_1), b"k" * 32) == ("alice@acme", ALICE_1)
    with pytest.raises(UntrustedDevice, match="key substitution"):
        directory.check(credential(ALICE_1), b"x" * 32)
    with pytest.raises(UntrustedDevice, match="key substitution"):
        directory.learn("alice@acme", ALICE_1, b"x" * 32)


def test_unknown_devices_need_first_sight(directory: DeviceDirectory) -> None:
    with pytest.raises(UnknownDevice):
        directory.check(credential(ALICE_2), b"k" * 32)
    allowed = directory.validator(lambda user, device: device == ALICE_2)
    allowed(credential(ALICE_2), b"k" * 32)
    assert [d.device_id for d in directory.devices("alice@acme")] == [ALICE_2]
    with pytest.raises(UntrustedDevice):
        allowed(credential(ALICE_2), b"z" * 32)  # pinned now
    with pytest.raises(UntrustedDevice, match="not an Enseal device identity"):
        directory.check(BasicCredential(identity=b"enseal-server:1234"), b"k" * 32)


def test_revoked_devices_are_refused(directory: DeviceDirectory) -> None:
    directory.learn("alice@acme", ALICE_1, b"k" * 32)
    directory.learn("alice@acme", ALICE_1, b"k" * 32, revoked=True)
    with pytest.raises(UntrustedDevice, match="revoked"):
        directory.check(credential(ALICE_1), b"k" * 32)


def test_identity_key_changes_with_the_users_devices(directory: DeviceDirectory) -> None:
    directory.learn("alice@acme", ALICE_1, b"k" * 32)
    one = directory.identity_key("alice@acme")
    directory.learn("alice@acme", ALICE_2, b"m" * 32)
    two = directory.identity_key("alice@acme")
    assert one != two and len(two) == 32
    directory.learn("alice@acme", ALICE_2, b"m" * 32, revoked=True)
    assert directory.identity_key("alice@acme") == one
    with pytest.raises(UnknownDevice):
        directory.identity_key("bob@acme")
