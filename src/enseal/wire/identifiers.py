"""Names of tenants, users, groups and devices, and the MLS credential identity of a device
(decision record 0501).

A user is addressed ``<user>@<tenant>``. A device's MLS BasicCredential identity (RFC 9420
section 5.3) is the UTF-8 string ``<user>@<tenant>/<device_id>``: the server, as the
Authentication Service, binds that identity to the device's signature key at registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from enseal.errors import ValidationError

MAX_TENANT_LENGTH: Final = 63
MAX_NAME_LENGTH: Final = 64
"""Longest user or group name (the part before ``@``)."""
DEVICE_ID_LENGTH: Final = 32
MAX_ADDRESS_LENGTH: Final = MAX_NAME_LENGTH + 1 + MAX_TENANT_LENGTH
MAX_DEVICE_NAME_LENGTH: Final = 64

TENANT_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
"""A tenant id: a DNS label in lower case."""
NAME_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$"
"""A user or group name: lower-case letters, digits and ``.``, ``_``, ``-`` inside."""
ADDRESS_PATTERN: Final = NAME_PATTERN[:-1] + "@" + TENANT_PATTERN[1:]
DEVICE_ID_PATTERN: Final = r"^[0-9a-f]{32}$"
DEVICE_NAME_PATTERN: Final = r"^[^\x00-\x1f\x7f]{1,64}$"

_TENANT = re.compile(TENANT_PATTERN)
_NAME = re.compile(NAME_PATTERN)
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


class InvalidIdentifier(ValidationError):
    """A tenant, user, group or device identifier is malformed."""


def check_tenant_id(value: str) -> str:
    if _TENANT.fullmatch(value) is None:
        raise InvalidIdentifier("a tenant id is a lower-case DNS label (a-z, 0-9, '-'), 1-63 characters", value[:80])
    return value


def check_name(what: str, value: str) -> str:
    if _NAME.fullmatch(value) is None:
        raise InvalidIdentifier(
            f"a {what} name is 1-64 lower-case letters, digits, '.', '_' or '-', starting and ending with a"
            " letter or digit",
            value[:80],
        )
    return value


def check_device_id(value: str) -> str:
    if _DEVICE_ID.fullmatch(value) is None:
        raise InvalidIdentifier("a device id is 32 lower-case hex digits", value[:80])
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAddress:
    """``name@tenant``."""

    name: str
    tenant: str

    def __post_init__(self) -> None:
        check_name("user", self.name)
        check_tenant_id(self.tenant)

    @classmethod
    def parse(cls, text: str) -> UserAddress:
        name, at, tenant = text.partition("@")
        if not at:
            raise InvalidIdentifier("a user address is <user>@<tenant>", text[:80])
        return cls(name=name, tenant=tenant)

    def __str__(self) -> str:
        return f"{self.name}@{self.tenant}"


def device_identity(user: UserAddress, device_id: str) -> bytes:
    """The MLS BasicCredential identity of a device: UTF-8 ``<user>@<tenant>/<device_id>``."""
    return f"{user}/{check_device_id(device_id)}".encode()


def parse_device_identity(identity: bytes) -> tuple[UserAddress, str]:
    """The user and device id of a credential identity; :class:`InvalidIdentifier` if malformed."""
    try:
        text = identity.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidIdentifier("a credential identity is UTF-8 <user>@<tenant>/<device_id>") from exc
    address, slash, device_id = text.partition("/")
    if not slash:
        raise InvalidIdentifier("a credential identity is <user>@<tenant>/<device_id>", text[:200])
    return UserAddress.parse(address), check_device_id(device_id)
