"""Device enrollment and authentication bodies (docs/protocol.md, "Devices and sign-in").

A device registers with its user's one-time enrollment code, its identity signature key and a
proof of possession (:func:`enseal.wire.proofs.registration_content`). It signs in by signing a
server challenge (:func:`enseal.wire.proofs.authentication_content`) and gets a short-lived
bearer token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from enseal.wire.binary import NonceB64, PublicKeyB64, SignatureB64
from enseal.wire.common import DeviceId, DeviceName, EnrollmentCodeText, Request, Response, UserAddressText

CipherSuiteNumber = Annotated[int, Field(ge=1, le=0xFFFF)]


class RegisterDeviceRequest(Request):
    user: UserAddressText
    enrollment_code: EnrollmentCodeText
    cipher_suite: CipherSuiteNumber = Field(description="MLS cipher suite whose signature scheme the key uses")
    signature_key: PublicKeyB64
    proof: SignatureB64 = Field(description="SignWithLabel(key, 'Enseal DeviceRegistration v1', content)")
    name: DeviceName = "device"
    supports_e2ee: bool = True


class DeviceBody(Response):
    device_id: str
    user: str
    name: str
    cipher_suite: int
    signature_key: PublicKeyB64
    credential_identity: str = Field(description="the MLS BasicCredential identity, <user>@<tenant>/<device_id>")
    supports_e2ee: bool
    created_at: datetime
    revoked_at: datetime | None


class DeviceList(Response):
    devices: list[DeviceBody]


class ChallengeRequest(Request):
    device_id: DeviceId


class ChallengeIssued(Response):
    challenge_id: str
    nonce: NonceB64
    expires_at: datetime


class TokenRequest(Request):
    device_id: DeviceId
    challenge_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    signature: SignatureB64 = Field(description="SignWithLabel(key, 'Enseal DeviceAuthentication v1', content)")


class TokenIssued(Response):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type name
    expires_at: datetime
    device_id: str
