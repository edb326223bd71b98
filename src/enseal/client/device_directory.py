"""The client as its own Authentication Service check (RFC 9420 section 5.3.1; decision record
0902): which signature key each device of each user has, pinned on first sight.

A leaf's credential is the BasicCredential ``user@tenant/device_id``. The server registered one
signature key per device and serves it (in the KeyPackages it hands out, and in device lists);
this client *pins* the key it first learns for a device and from then on:

* a leaf, KeyPackage or directory answer with another key for a pinned device is refused with
  :class:`~enseal.client.errors.UntrustedDevice` ("key substitution") -- a server that swaps a
  device's key is caught here, not silently believed;
* a device not seen yet is pinned on first sight only where the server vouched for it: a leaf of
  a group the server's Authentication Service admitted (it checks every leaf against the device
  registry), or the device the server named as the sender of a call message; anywhere else it
  raises :class:`~enseal.client.errors.UnknownDevice` (MLS processing changes nothing on failure);
* a user's devices feed the *user identity key* of the safety number (``enseal verify``): a
  digest of the user's pinned device keys, so a new device changes the safety number.

Key transparency (a later issue) will replace trust-on-first-use for the first sight.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from enseal.client.errors import UnknownDevice, UntrustedDevice
from enseal.client.profile_store import ProfileStore
from enseal.crypto import HashAlgorithm, constant_time_equal
from enseal.errors import ValidationError
from enseal.mls.credential import BasicCredential, Credential
from enseal.wire import InvalidIdentifier, parse_device_identity

FirstSight = Callable[[str, str], bool]
"""Whether a device ``(user, device_id)`` not pinned yet may be pinned now, on first sight."""

DIRECTORY_RECORD: Final = "directory"
IDENTITY_KEY_LABEL: Final = b"Enseal 1.0 user identity key"
MAX_DEVICES_PER_USER: Final = 64
"""Devices pinned per user (the server allows 32 active; revoked ones are kept too)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownDevice:
    user: str
    device_id: str
    signature_key: bytes
    revoked: bool = False

    @property
    def identity(self) -> str:
        return f"{self.user}/{self.device_id}"


class DeviceDirectory:
    """The pinned devices of every user this device has met, in the profile."""

    def __init__(self, store: ProfileStore) -> None:
        self._store = store
        self._users: dict[str, dict[str, dict[str, Any]]] = store.get_json(DIRECTORY_RECORD) or {}

    def _save(self) -> None:
        self._store.put_json(DIRECTORY_RECORD, self._users)

    def devices(self, user: str, *, include_revoked: bool = False) -> list[KnownDevice]:
        return [
            KnownDevice(
                user=user,
                device_id=device_id,
                signature_key=base64.b64decode(entry["key"]),
                revoked=bool(entry.get("revoked")),
            )
            for device_id, entry in sorted(self._users.get(user, {}).items())
            if include_revoked or not entry.get("revoked")
        ]

    def knows(self, user: str) -> bool:
        return bool(self._users.get(user))

    def learn(self, user: str, device_id: str, signature_key: bytes, *, revoked: bool = False) -> bool:
        """Pin a device's key (True if it was new). A different key for a pinned device raises
        :class:`UntrustedDevice`: the directory answered with a substituted key."""
        devices = self._users.setdefault(user, {})
        entry = devices.get(device_id)
        if entry is not None:
            if not constant_time_equal(base64.b64decode(entry["key"]), signature_key):
                raise UntrustedDevice(
                    "key substitution: the server presents another signature key for a device this client pinned",
                    f"{user}/{device_id}",
                )
            if revoked and not entry.get("revoked"):
                entry["revoked"] = True
                self._save()
            return False
        if len(devices) >= MAX_DEVICES_PER_USER:
            raise UntrustedDevice(f"more than {MAX_DEVICES_PER_USER} devices for one user", user)
        devices[device_id] = {"key": base64.b64encode(signature_key).decode(), "revoked": revoked}
        self._save()
        return True

    def learn_all(self, user: str, devices: Iterable[tuple[str, bytes, bool]]) -> list[str]:
        """Pin each ``(device_id, key, revoked)``; the ids that were new."""
        return [device_id for device_id, key, revoked in devices if self.learn(user, device_id, key, revoked=revoked)]

    def check(
        self, credential: Credential, signature_key: bytes, *, first_sight: FirstSight | None = None
    ) -> tuple[str, str]:
        """The GroupConfig ``validate_credential`` hook: the credential must be
        ``user@tenant/device_id`` of a pinned, unrevoked device with exactly this key. A device
        not pinned yet is pinned now if ``first_sight(user, device_id)`` allows it, else
        :class:`UnknownDevice`. Returns ``(user, device_id)``."""
        if not isinstance(credential, BasicCredential):
            raise ValidationError("Enseal devices use basic credentials (RFC 9420 section 5.3)")
        try:
            address, device_id = parse_device_identity(credential.identity)
        except InvalidIdentifier as exc:
            raise UntrustedDevice("a credential is not an Enseal device identity", exc.detail) from exc
        user = str(address)
        entry = self._users.get(user, {}).get(device_id)
        if entry is None:
            if first_sight is None or not first_sight(user, device_id):
                raise UnknownDevice("a device this client has not seen yet", user=user, device_id=device_id)
            self.learn(user, device_id, signature_key)
            return user, device_id
        if not constant_time_equal(base64.b64decode(entry["key"]), signature_key):
            raise UntrustedDevice(
                "key substitution: a leaf carries another signature key than the one registered for its device",
                f"{user}/{device_id}",
            )
        if entry.get("revoked"):
            raise UntrustedDevice("the device was revoked", f"{user}/{device_id}")
        return user, device_id

    def validate_credential(self, credential: Credential, signature_key: bytes) -> None:
        """Pinned devices only."""
        self.check(credential, signature_key)

    def validator(self, first_sight: FirstSight) -> Callable[[Credential, bytes], None]:
        """A ``validate_credential`` hook that pins first-seen devices ``first_sight`` allows."""

        def validate(credential: Credential, signature_key: bytes) -> None:
            self.check(credential, signature_key, first_sight=first_sight)

        return validate

    def identity_key(self, user: str) -> bytes:
        """The user identity key of the safety number: SHA-256 over the label and every active
        pinned device of the user, sorted by device id, as ``device_id || 0x00 || key``."""
        devices = self.devices(user)
        if not devices:
            raise UnknownDevice("no device of this user is known", user=user, device_id="*")
        material = IDENTITY_KEY_LABEL + b"".join(
            d.device_id.encode() + b"\x00" + len(d.signature_key).to_bytes(2, "big") + d.signature_key for d in devices
        )
        return HashAlgorithm.SHA256.digest(material)
