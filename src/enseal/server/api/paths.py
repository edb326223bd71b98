"""Path parameters of API v1, validated by the same patterns as the bodies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from enseal.wire.identifiers import ADDRESS_PATTERN, DEVICE_ID_PATTERN, MAX_ADDRESS_LENGTH, NAME_PATTERN, TENANT_PATTERN

TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN, max_length=63, description="tenant id")]
UserPath = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64, description="user name within the tenant")]
GroupPath = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64, description="group name within the tenant")]
UserAddressPath = Annotated[
    str, Path(pattern=ADDRESS_PATTERN, max_length=MAX_ADDRESS_LENGTH, description="user address user@tenant")
]
DevicePath = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, max_length=32, description="device id")]
PolicyPath = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9._-])?$", max_length=64, description="policy name"),
]
