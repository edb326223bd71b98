"""Typed messages shared by the Enseal server and its clients (layer L3, sans-I/O): the HTTP
request and response bodies of API ``v1``, the WebSocket event envelope, the error body, the
identifier formats and the bytes a device signs. docs/protocol.md describes the protocol.

Models are pydantic v2 (decision record 0502): strict, unknown fields refused in requests, every
string and byte field bounded.
"""

from enseal.wire.common import API_VERSION
from enseal.wire.errors import ErrorBody, ErrorCode, ErrorDetail, PolicyReasonBody
from enseal.wire.events import ClientFrame, EventEnvelope, EventType
from enseal.wire.identifiers import (
    InvalidIdentifier,
    UserAddress,
    check_device_id,
    check_name,
    check_tenant_id,
    device_identity,
    parse_device_identity,
)
from enseal.wire.proofs import (
    AUTHENTICATION_LABEL,
    REGISTRATION_LABEL,
    authentication_content,
    registration_content,
)

__all__ = [
    "API_VERSION",
    "AUTHENTICATION_LABEL",
    "REGISTRATION_LABEL",
    "ClientFrame",
    "ErrorBody",
    "ErrorCode",
    "ErrorDetail",
    "EventEnvelope",
    "EventType",
    "InvalidIdentifier",
    "PolicyReasonBody",
    "UserAddress",
    "authentication_content",
    "check_device_id",
    "check_name",
    "check_tenant_id",
    "device_identity",
    "parse_device_identity",
    "registration_content",
]
