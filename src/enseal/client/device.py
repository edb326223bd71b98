"""This device's identity: enrollment with a one-time code and challenge sign-in
(docs/protocol.md, "Authentication"; decision records 0501 and 0504).

The device's identity signature key (the signature scheme of its MLS cipher suite, Ed25519 for
suite 1) is also its MLS signature key; its MLS credential is the BasicCredential
``user@tenant/device_id``. The key never leaves the encrypted profile.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from enseal.client.server_api import ServerApi
from enseal.crypto import DEFAULT_SUITE_ID, CipherSuite, RandomSource, SignaturePrivateKey, cipher_suite
from enseal.errors import LocalProtocolError
from enseal.mls.credential import BasicCredential
from enseal.wire import (
    AUTHENTICATION_LABEL,
    REGISTRATION_LABEL,
    UserAddress,
    authentication_content,
    device_identity,
    registration_content,
)
from enseal.wire.devices import (
    ChallengeIssued,
    ChallengeRequest,
    DeviceBody,
    RegisterDeviceRequest,
    TokenIssued,
    TokenRequest,
)
from enseal.wire.server_info import ServerInfo

DEVICE_RECORD: Final = "device"
"""The profile record holding the :class:`DeviceIdentity`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceIdentity:
    """Who this device is, and its private signature key (hidden from ``repr``)."""

    user: UserAddress
    device_id: str
    suite: CipherSuite
    signing_key: SignaturePrivateKey = field(repr=False)
    server_url: str
    server_id: str
    name: str
    supports_e2ee: bool = True

    @property
    def identity(self) -> bytes:
        """The MLS credential identity ``user@tenant/device_id``."""
        return device_identity(self.user, self.device_id)

    @property
    def credential(self) -> BasicCredential:
        return BasicCredential(identity=self.identity)

    @property
    def address(self) -> str:
        return str(self.user)

    def to_record(self) -> dict[str, Any]:
        return {
            "user": str(self.user),
            "device_id": self.device_id,
            "suite": self.suite.id,
            "signing_key": base64.b64encode(self.signing_key.private_bytes().reveal()).decode(),
            "server_url": self.server_url,
            "server_id": self.server_id,
            "name": self.name,
            "supports_e2ee": self.supports_e2ee,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DeviceIdentity:
        suite = cipher_suite(int(record["suite"]))
        return cls(
            user=UserAddress.parse(record["user"]),
            device_id=record["device_id"],
            suite=suite,
            signing_key=SignaturePrivateKey.from_bytes(suite.signature, base64.b64decode(record["signing_key"])),
            server_url=record["server_url"],
            server_id=record["server_id"],
            name=record["name"],
            supports_e2ee=bool(record.get("supports_e2ee", True)),
        )


async def server_info(api: ServerApi) -> ServerInfo:
    return await api.call("GET", "/v1/server/info", ServerInfo, auth=False)


async def enroll(
    api: ServerApi,
    *,
    user: UserAddress,
    enrollment_code: str,
    name: str,
    rng: RandomSource,
    suite_id: int = DEFAULT_SUITE_ID,
    supports_e2ee: bool = True,
) -> DeviceIdentity:
    """Register a new device of ``user`` with a one-time enrollment code (``POST /v1/devices``)."""
    info = await server_info(api)
    if suite_id not in info.cipher_suites:
        raise LocalProtocolError(f"the server does not offer MLS cipher suite {suite_id}", str(info.cipher_suites))
    suite = cipher_suite(suite_id)
    key = suite.generate_signature_key(rng)
    content = registration_content(user=str(user), cipher_suite=suite.id, signature_key=key.public_key)
    request = RegisterDeviceRequest(
        user=str(user),
        enrollment_code=enrollment_code,
        cipher_suite=suite.id,
        signature_key=key.public_key,
        proof=suite.sign_with_label(key, REGISTRATION_LABEL, content),
        name=name,
        supports_e2ee=supports_e2ee,
    )
    device = await api.call("POST", "/v1/devices", DeviceBody, body=request, auth=False)
    identity = DeviceIdentity(
        user=user,
        device_id=device.device_id,
        suite=suite,
        signing_key=key,
        server_url=api.base_url,
        server_id=info.server_id,
        name=name,
        supports_e2ee=supports_e2ee,
    )
    if device.credential_identity.encode() != identity.identity or device.signature_key != key.public_key:
        raise LocalProtocolError("the server registered another identity or key than this device sent")
    return identity


async def sign_in(api: ServerApi, identity: DeviceIdentity) -> tuple[str, datetime]:
    """Answer a sign-in challenge with the device key: an access token and its expiry."""
    challenge = await api.call(
        "POST", "/v1/auth/challenge", ChallengeIssued, body=ChallengeRequest(device_id=identity.device_id), auth=False
    )
    content = authentication_content(
        server_id=identity.server_id,
        device_id=identity.device_id,
        challenge_id=challenge.challenge_id,
        nonce=challenge.nonce,
    )
    answer = TokenRequest(
        device_id=identity.device_id,
        challenge_id=challenge.challenge_id,
        signature=identity.suite.sign_with_label(identity.signing_key, AUTHENTICATION_LABEL, content),
    )
    token = await api.call("POST", "/v1/auth/token", TokenIssued, body=answer, auth=False)
    return token.access_token, token.expires_at
