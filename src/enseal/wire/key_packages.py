"""Key directory bodies (docs/protocol.md, "Key directory"): publish KeyPackages, count them,
claim one per device of a user."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from enseal.wire.binary import KeyPackageB64
from enseal.wire.common import Request, Response, UserAddressText

MAX_KEY_PACKAGES_PER_UPLOAD = 100
"""Most KeyPackages one publish request carries."""


class PublishKeyPackagesRequest(Request):
    key_packages: Annotated[list[KeyPackageB64], Field(min_length=1, max_length=MAX_KEY_PACKAGES_PER_UPLOAD)] = Field(
        description="each an MLSMessage (wire_format mls_key_package) of this device"
    )
    last_resort: bool = Field(
        default=False,
        description="store these as the device's last-resort package (one per cipher suite, reusable)",
    )


class PublishedKeyPackages(Response):
    accepted: int
    refs: list[str] = Field(description="KeyPackageRef of each, hex")


class KeyPackageCount(Response):
    cipher_suite: int
    one_time: int
    last_resort: bool


class KeyPackageCounts(Response):
    counts: list[KeyPackageCount]


class ClaimKeyPackagesRequest(Request):
    user: UserAddressText
    cipher_suite: Annotated[int, Field(ge=1, le=0xFFFF)] = 1


class ClaimedKeyPackage(Response):
    device_id: str
    credential_identity: str
    key_package: KeyPackageB64
    last_resort: bool
    not_after: datetime


class ClaimedKeyPackages(Response):
    user: str
    key_packages: list[ClaimedKeyPackage]
    devices_without_package: list[str] = Field(
        description="active devices of the user with no package for this suite (not even last-resort)"
    )
