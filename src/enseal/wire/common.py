"""Pieces shared by the request and response models: the base model with strict validation,
and the constrained string types of identifiers (decision record 0502)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from enseal.wire.identifiers import (
    ADDRESS_PATTERN,
    DEVICE_ID_PATTERN,
    DEVICE_NAME_PATTERN,
    MAX_ADDRESS_LENGTH,
    NAME_PATTERN,
    TENANT_PATTERN,
)

API_VERSION = "v1"
"""The path prefix of this protocol version."""


class Request(BaseModel):
    """A request body: unknown fields are refused, values are never coerced across types."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Response(BaseModel):
    """A response body. Clients ignore fields they do not know (forward compatibility)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


TenantId = Annotated[str, StringConstraints(pattern=TENANT_PATTERN, max_length=63)]
UserName = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]
GroupName = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]
UserAddressText = Annotated[str, StringConstraints(pattern=ADDRESS_PATTERN, max_length=MAX_ADDRESS_LENGTH)]
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN, max_length=32)]
DeviceName = Annotated[str, StringConstraints(pattern=DEVICE_NAME_PATTERN, max_length=64)]
TokenText = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
"""A bearer token or bootstrap token as typed by a person or program."""
EnrollmentCodeText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 -]+$")]
